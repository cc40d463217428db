from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faceattr.celeba import CELEBA_ATTRIBUTES
from faceattr.data.labels import (
    read_celeba_attributes,
    read_csv_labels,
    read_labels,
    read_partition,
)
from faceattr.errors import FaceAttrError

from .conftest import CELEBA_PART, HQ_ATTR


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.shared
def test_real_celebahq_file_parses():
    t = read_celeba_attributes(HQ_ATTR)
    assert len(t) == 17906
    assert t.attributes == CELEBA_ATTRIBUTES
    assert t.values.dtype == np.uint8 and set(np.unique(t.values)) <= {0, 1}
    # first row of the real file: 3.jpg -1 -1 1 ... (Attractive is the 3rd attribute)
    assert t.files[0] == "3.jpg" and t.values[0, 2] == 1 and t.values[0, 0] == 0


@pytest.mark.shared
def test_real_partition_parses():
    p = read_partition(CELEBA_PART)
    assert len(p) == 202599
    assert p["000001.jpg"] == 0 and p["182638.jpg"] == 2


def test_celeba_format_small(tmp_path):
    p = write(tmp_path, "a.txt", "2\nA B\nx.jpg 1 -1\ny.jpg -1 -1\n")
    t = read_labels(p)
    assert t.attributes == ("A", "B") and t.files == ("x.jpg", "y.jpg")
    assert t.values.tolist() == [[1, 0], [0, 0]]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("x\nA B\nx.jpg 1 -1\n", ":1: expected the row count"),
        ("1\nA B\nx.jpg 1\n", ":3: expected a file name and 2 values, got a file name and 1 value"),
        ("1\nA B\nx.jpg 1 2\n", ":3: label value '2' is not one of"),
        ("2\nA B\nx.jpg 1 1\nx.jpg 1 1\n", ":4: duplicate row for image 'x.jpg'"),
        ("3\nA B\nx.jpg 1 1\n", ":1: declares 3 rows but holds 1"),
        ("1\nA A\nx.jpg 1 1\n", "duplicate attribute name 'A'"),
        ("1\n", "too short"),
    ],
)
def test_celeba_format_errors_name_file_and_line(tmp_path, text, needle):
    p = write(tmp_path, "bad.txt", text)
    with pytest.raises(FaceAttrError) as e:
        read_celeba_attributes(p)
    assert str(p) in str(e.value) and needle in str(e.value)


def test_csv_formats(tmp_path):
    a = read_labels(write(tmp_path, "a.csv", "file,Smiling,Male\nx.jpg,1,0\ny.jpg,0,1\n"))
    b = read_labels(write(tmp_path, "b.csv", "file,Smiling,Male\nx.jpg,1,-1\ny.jpg,-1,1\n"))
    assert a.attributes == ("Smiling", "Male")
    assert a.values.tolist() == b.values.tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("file,A\nx.jpg,1,1\n", ":2: expected 2 columns, got 3"),
        ("file,A\nx.jpg,0\ny.jpg,-1\n", ":3: mixes 0/1 and -1/1"),
        ("file,A\nx.jpg,yes\n", ":2: label value 'yes'"),
        ("file,A\nx.jpg,1\nx.jpg,0\n", ":3: duplicate row"),
        ("", "empty CSV"),
    ],
)
def test_csv_errors(tmp_path, text, needle):
    p = write(tmp_path, "bad.csv", text)
    with pytest.raises(FaceAttrError, match=needle.replace("(", r"\(")):
        read_csv_labels(p)


def test_partition_errors(tmp_path):
    with pytest.raises(FaceAttrError, match=r"p.txt:2: unknown partition value '3'"):
        read_partition(write(tmp_path, "p.txt", "a.jpg 0\nb.jpg 3\n"))
    with pytest.raises(FaceAttrError, match=r":2: duplicate row"):
        read_partition(write(tmp_path, "q.txt", "a.jpg 0\na.jpg 1\n"))


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(FaceAttrError, match="label file not found"):
        read_labels(tmp_path / "nope.txt")
    p = tmp_path / "bin.txt"
    p.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(FaceAttrError, match="not a text file"):
        read_labels(p)


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=10)


@st.composite
def tables(draw):
    # attribute names start with a letter: a names line of bare 0/1/-1 reads as a row of values
    attrs = draw(st.lists(names.map(lambda s: "a" + s), min_size=1, max_size=6, unique=True))
    files = draw(st.lists(names.map(lambda s: s + ".jpg"), min_size=0, max_size=20, unique=True))
    values = draw(st.lists(st.lists(st.integers(0, 1), min_size=len(attrs),
                                    max_size=len(attrs)), min_size=len(files),
                           max_size=len(files)))
    return attrs, files, values


@settings(max_examples=60, deadline=None)
@given(tables(), st.sampled_from(["celeba", "csv01", "csv-1"]))
def test_roundtrip_property(tmp_path_factory, table, fmt):
    attrs, files, values = table
    d = tmp_path_factory.mktemp("rt")
    if fmt == "celeba":
        body = [f"{f} " + " ".join("1" if v else "-1" for v in row)
                for f, row in zip(files, values)]
        p = write(d, "l.txt", "\n".join([str(len(files)), " ".join(attrs), *body]) + "\n")
    else:
        neg = "0" if fmt == "csv01" else "-1"
        body = [f + "," + ",".join("1" if v else neg for v in row) for f, row in zip(files, values)]
        p = write(d, "l.csv", "\n".join(["file," + ",".join(attrs), *body]) + "\n")
    t = read_labels(p)
    assert list(t.attributes) == attrs and list(t.files) == files
    assert t.values.reshape(len(files), len(attrs)).tolist() == [list(r) for r in values]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_parsers_never_crash_on_garbage(tmp_path_factory, text):
    d = tmp_path_factory.mktemp("garbage")
    for name, fn in [("g.txt", read_celeba_attributes), ("g.csv", read_csv_labels),
                     ("p.txt", read_partition)]:
        p = d / name
        p.write_text(text, encoding="utf-8")
        try:
            fn(p)
        except FaceAttrError as e:
            assert str(p) in str(e)


def test_duplicate_attribute_column_names_the_names_line(tmp_path):
    celeba = tmp_path / "a.txt"
    celeba.write_text("1\nA B A\nx.jpg 1 1 1\n")
    with pytest.raises(FaceAttrError, match=r"a.txt:2: duplicate attribute name 'A' \(columns "
                                            r"1 and 3"):
        read_labels(celeba)
    table = tmp_path / "a.csv"
    table.write_text("\ufefffile,A,B,B\nx.jpg,1,0,1\n")
    with pytest.raises(FaceAttrError, match=r"a.csv:1: duplicate attribute name 'B'"):
        read_labels(table)
