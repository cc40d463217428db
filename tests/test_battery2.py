"""The second hardening round: bounded memory and time, output safety, resume on damage, honest
answers on odd input, clear errors. Each case through the surfaces it reaches."""

from __future__ import annotations

import csv
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from faceattr import FaceAttrError, Recognizer
from faceattr.cli import main
from faceattr.outputs.resumable import lock_output
from faceattr.serving.app import create_app

from .badinput import EXAMPLE
from .conftest import TEST_CROPS

MEMORY_LIMIT = 1_500_000_000  # bytes of address space for the memory cases


def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


# ---- memory and time ------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(10000, 16), (16, 6000), (2000, 16)])
def test_thin_pictures_stay_small_and_quick(size, tmp_path, client):
    """A 593-byte PNG of 10000x16 once took 24 GB: now every picture is scanned at a bounded
    size. Run under a 1.5 GB address-space limit, in a fresh process, as a user would."""
    path = tmp_path / "thin.png"
    Image.new("RGB", size, (120, 110, 100)).save(path)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "faceattr", "predict", str(path), "--format",
                        "jsonl"], capture_output=True, text=True, preexec_fn=limit, timeout=60)
    assert time.perf_counter() - t0 < 20
    assert r.returncode == 1 and "no face found" in r.stdout and "Traceback" not in r.stderr
    res = client.post("/v1/predict", files=[("files", ("thin.png", path.read_bytes(), "i/p"))])
    assert res.status_code == 200 and "no face found" in res.json()["results"][0]["error"]


def test_big_photo_without_a_face_is_quick(tmp_path):
    path = tmp_path / "noise.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (3000, 4000, 3), dtype=np.uint8)).save(path, quality=80)
    rec = Recognizer()
    rec.predict_faces(EXAMPLE)  # warm up
    t0 = time.perf_counter()
    assert rec.predict_faces(path) == []
    assert time.perf_counter() - t0 < 5  # ~0.2 s here; a 12 MP photo once took 30 s


# ---- output safety --------------------------------------------------------------------------

def test_output_format_comes_from_its_name_or_is_refused(tmp_path, capsys):
    out = tmp_path / "labels.csv"
    assert main(["predict", str(EXAMPLE), "--no-detect", "--output", str(out)]) == 0
    assert out.read_text().startswith("schema,file,face,box_left")
    capsys.readouterr()
    for argv, msg in [
        (["--output", str(tmp_path / "x.foo")], "give --format"),
        (["--output", str(tmp_path / "y.csv"), "--format", "table"], "named as csv"),
        (["--output", str(EXAMPLE)], "is one of the inputs"),
    ]:
        assert main(["predict", str(EXAMPLE), "--no-detect", *argv]) == 2
        assert msg in one_line(capsys.readouterr().err)
    assert not (tmp_path / "x.foo").exists() and not (tmp_path / "y.csv").exists()


def test_existing_table_output_is_not_replaced_silently(tmp_path, capsys):
    out = tmp_path / "report.txt"
    out.write_text("precious")
    assert main(["predict", str(EXAMPLE), "--no-detect", "--output", str(out)]) == 2
    assert "exists; pass --overwrite" in one_line(capsys.readouterr().err)
    assert out.read_text() == "precious"
    assert main(["predict", str(EXAMPLE), "--no-detect", "--output", str(out),
                 "--overwrite"]) == 0
    assert "No_Beard" in out.read_text()


def test_a_second_run_on_the_same_output_refuses(tmp_path, capsys):
    out = tmp_path / "labels.jsonl"
    held = lock_output(out)  # as a first run holds it
    try:
        assert main(["predict", str(EXAMPLE), "--no-detect", "--output", str(out)]) == 2
        assert "another faceattr run is writing" in one_line(capsys.readouterr().err)
    finally:
        held.close()
    assert main(["predict", str(EXAMPLE), "--no-detect", "--output", str(out)]) == 0


def test_each_input_is_read_once(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (folder / name).write_bytes(EXAMPLE.read_bytes())
    (folder / "notes.gif").write_bytes(b"GIF89a")
    (folder / "README").write_text("x")
    assert main(["predict", str(folder / "a.jpg"), str(folder), str(folder / "a.jpg"),
                 "--no-detect", "--format", "jsonl"]) == 0
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 2
    assert "2 inputs were named more than once" in out.err
    assert "2 files in" in out.err and ".gif" in out.err and "(no extension)" in out.err


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_resume_on_a_damaged_output_recovers_without_duplicates(fmt, tmp_path, capsys):
    files = sorted(TEST_CROPS.glob("*.jpg"))[:6]
    out = tmp_path / ("out" if fmt == "parquet" else f"out.{fmt}")
    argv = ["predict", *map(str, files), "--no-detect", "--output", str(out), "--format", fmt]
    assert main(argv) == 0
    if fmt == "parquet":
        part = sorted(out.glob("part-*.parquet"))[0]
        part.write_bytes(b"PAR1 not parquet at all")
    else:
        lines = out.read_bytes().splitlines(keepends=True)
        lines[2] = b'{"file": "182641.jpg", "probab\x00\n' if fmt == "jsonl" else b"a,b\n"
        out.write_bytes(b"".join(lines))
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "dropped" in err and "Traceback" not in err
    if fmt == "parquet":
        import pyarrow.parquet as pq

        names = [n for p in sorted(out.glob("part-*.parquet"))
                 for n in pq.read_table(p)["file"].to_pylist()]
        assert list(out.glob("*.damaged"))
    elif fmt == "jsonl":
        names = [json.loads(line)["file"] for line in out.read_text().splitlines()]
    else:
        names = [r["file"] for r in csv.DictReader(io.StringIO(out.read_text()))]
    assert sorted(names) == sorted(map(str, files))  # each input once, none lost


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_last_line_cut_short_by_a_kill_is_done_again(fmt, tmp_path, capsys):
    """kill -9 during a write can leave half a record at the end; the resume drops it, says
    so, and does that input again."""
    files = sorted(TEST_CROPS.glob("*.jpg"))[:4]
    out = tmp_path / f"out.{fmt}"
    argv = ["predict", *map(str, files), "--no-detect", "--output", str(out), "--format", fmt]
    assert main(argv) == 0
    data = out.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    out.write_bytes(data[:last + (len(data) - last) // 2])  # the last record, half written
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "incomplete last line" in err and "3 inputs already in" in err
    text = out.read_text()
    if fmt == "jsonl":
        names = [json.loads(line)["file"] for line in text.splitlines()]
    else:
        names = [r["file"] for r in csv.DictReader(io.StringIO(text))]
    assert sorted(names) == sorted(map(str, files))


def test_overwrite_keeps_the_old_output_until_the_new_one_is_complete(tmp_path, monkeypatch,
                                                                     capsys):
    out = tmp_path / "labels.csv"
    first = [str(EXAMPLE)]
    assert main(["predict", *first, "--no-detect", "--output", str(out)]) == 0
    before = out.read_text()

    def interrupted(self, images, batch_size=64, workers=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Recognizer, "iter_predict", interrupted)
    assert main(["predict", *first, "--no-detect", "--output", str(out), "--overwrite"]) == 130
    assert out.read_text() == before  # the previous complete output is whole
    monkeypatch.undo()
    assert main(["predict", *first, "--no-detect", "--output", str(out), "--overwrite"]) == 0
    assert out.read_text() == before and not out.with_name("labels.csv.new").exists()


def test_outputs_are_checked_before_the_work(test_crops_small, tmp_path, capsys, monkeypatch):
    """evaluate --json into a folder, --chart without matplotlib, predict --annotate onto a
    file: refused before a single image is framed."""
    from faceattr.evaluation import report

    monkeypatch.setattr(report, "frame_dataset", lambda *a, **k: pytest.fail("work started"))
    base = ["evaluate", "--images", str(test_crops_small), "--labels",
            str(TEST_CROPS.parent / "list_attr_celeba.txt")]
    assert main([*base, "--json", str(tmp_path)]) == 2
    assert "is a folder" in one_line(capsys.readouterr().err)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    assert main([*base, "--chart", str(tmp_path / "c.png")]) == 2
    assert "needs matplotlib" in one_line(capsys.readouterr().err)
    monkeypatch.setattr(Recognizer, "__init__", lambda *a, **k: pytest.fail("work started"))
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert main(["predict", str(EXAMPLE), "--annotate", str(a_file)]) == 2
    assert "--annotate" in one_line(capsys.readouterr().err)


# ---- honest answers -------------------------------------------------------------------------

def test_grey_faces_say_which_attributes_not_to_trust(tmp_path, client, capsys):
    grey = tmp_path / "grey.jpg"
    Image.open(EXAMPLE).convert("L").save(grey)
    rec = Recognizer()  # the default model's list (measured on its val split)
    p, q = rec.predict(grey), rec.predict(EXAMPLE)
    assert p.unreliable == rec.grey_unreliable != [] and q.unreliable == []
    fast = Recognizer("fast")  # its own list
    assert fast.predict(grey).unreliable == fast.grey_unreliable != []
    assert main(["predict", str(grey), "--format", "jsonl"]) == 0
    assert json.loads(capsys.readouterr().out)["unreliable"] == rec.grey_unreliable
    r = client.post("/v1/predict", files=[("files", ("g.jpg", grey.read_bytes(), "i/j"))])
    assert r.json()["results"][0]["faces"][0]["unreliable"] == rec.grey_unreliable


# ---- clear errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("argv, msg", [
    (["predict", ""], "an empty path names no file"),
    (["predict", str(EXAMPLE), "--framing", ""], "an empty value names nothing"),
])
def test_empty_values_are_refused(argv, msg, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and msg in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv, msg", [
    (["predict", str(EXAMPLE), "--model", "acurate"], "no bundled model of that name"),
    (["serve", "--host", "999.1.1.1"], "--host 999.1.1.1"),
])
def test_wrong_values_are_named(argv, msg, capsys):
    assert main(argv) == 2
    err = one_line(capsys.readouterr().err)
    assert msg in err and "PyTorch" not in err


def test_api_names_a_mistyped_model():
    with pytest.raises(FaceAttrError, match="no bundled model of that name"):
        Recognizer(model="acurate")


def test_files_from_with_binary_junk(tmp_path, capsys):
    listing = tmp_path / "list.txt"
    listing.write_bytes(str(EXAMPLE).encode() + b"\n\x01\x02junk\x1b[31m\n")
    assert main(["predict", "--files-from", str(listing), "--no-detect", "--format",
                 "jsonl"]) == 0
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 1
    assert "line 2: not a path (control characters" in out.err and "\x1b" not in out.err


def test_image_paths_after_options_are_inputs(capsys):
    assert main(["predict", "--no-detect", str(EXAMPLE), "--format", "jsonl", str(EXAMPLE)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # named twice, read once


def test_label_file_messages_name_the_real_problem(tmp_path, capsys):
    short = tmp_path / "short.txt"
    short.write_text("1\nA B C\nx.jpg 1 -1\n")
    nonames = tmp_path / "nonames.txt"
    nonames.write_text("1\nx.jpg 1 -1 1\n")
    for path, msg in [(short, "got a file name and 2 values (1 too few)"),
                      (nonames, "the names line is missing")]:
        assert main(["evaluate", "--images", str(tmp_path), "--labels", str(path)]) == 2
        assert msg in one_line(capsys.readouterr().err)


def test_service_says_what_it_expects(client):
    data = EXAMPLE.read_bytes()
    r = client.post("/v1/predict", content=data, headers={"content-type": "image/jpeg"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]
    r = client.post("/v1/predict", json={"files": "x"})
    assert r.status_code == 415
    cut = (b'--XX\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n'
           b"Content-Type: image/jpeg\r\n\r\n" + data[:300])
    r = client.post("/v1/predict", content=cut,
                    headers={"content-type": "multipart/form-data; boundary=XX"})
    assert r.status_code == 422 and "no complete 'files' field" in r.json()["detail"]


def test_parquet_without_pyarrow_is_refused_before_work(tmp_path, monkeypatch, capsys):
    import faceattr.outputs.parquet as parquet

    def missing():
        raise FaceAttrError("--format parquet needs pyarrow: pip install 'faceattr[parquet]'")

    monkeypatch.setattr(parquet, "pyarrow_parquet", missing)
    monkeypatch.setattr(Recognizer, "__init__", lambda *a, **k: pytest.fail("work started"))
    assert main(["predict", str(EXAMPLE), "--output", str(tmp_path / "p"), "--format",
                 "parquet"]) == 2
    assert "needs pyarrow" in one_line(capsys.readouterr().err)


def test_every_option_has_help():
    from faceattr.cli import build_parser

    parser = build_parser()
    for sub in parser._subparsers._group_actions[0].choices.values():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{sub.prog} {action.option_strings[0]} has no help"


def test_readme_states_to_dict_keys_with_detection():
    p = Recognizer().predict(EXAMPLE).to_dict()
    assert {"file", "face", "box", "landmarks", "score", "probabilities", "decisions"} <= set(p)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "p.to_dict()   # the record every output writes: docs/schema/face.schema.json" in readme


def test_evaluate_writes_its_json_even_when_the_reader_stops_early(test_crops_small, tmp_path):
    out = tmp_path / "r.json"
    cmd = (f"{sys.executable} -m faceattr evaluate --images {test_crops_small} --labels "
           f"{TEST_CROPS.parent / 'list_attr_celeba.txt'} --json {out} 2>/dev/null | head -1")
    subprocess.run(cmd, shell=True, check=True, timeout=120)
    assert json.loads(out.read_text())["images"] == len(list(test_crops_small.glob("*.jpg")))


def test_service_refuses_to_start_with_a_mistyped_model():
    with pytest.raises(FaceAttrError, match="no bundled model of that name"):
        create_app(model="acurate")


def test_threshold_messages_fit_the_caller(client, capsys):
    """One place reads thresholds; each caller is told in its own terms."""
    with pytest.raises(FaceAttrError) as e:
        Recognizer(threshold=2)
    assert str(e.value).startswith("threshold 2.0") and "--" not in str(e.value)
    r = client.post("/v1/predict?threshold=often",
                    files=[("files", ("a.jpg", EXAMPLE.read_bytes(), "i/j"))])
    assert r.status_code == 422 and "the threshold parameter 'often'" in r.json()["detail"]
    assert main(["predict", str(EXAMPLE), "--threshold", "often"]) == 2
    assert "--threshold 'often'" in one_line(capsys.readouterr().err)


@pytest.mark.slow
def test_a_request_of_sixteen_big_photos_without_faces_is_bounded(client, tmp_path):
    """16 photos of 12 MP with no face in one request once held the service for over two
    minutes (a rotated search at full size); every picture is now scanned at a bounded size."""
    from PIL import ImageFilter

    rng = np.random.default_rng(1)
    small = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    photo = small.filter(ImageFilter.GaussianBlur(3)).resize((4000, 3000))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    t0 = time.perf_counter()
    r = client.post("/v1/predict", files=[("files", (f"{i}.jpg", data, "image/jpeg"))
                                          for i in range(16)])
    seconds = time.perf_counter() - t0
    assert r.status_code == 200 and len(r.json()["results"]) == 16
    assert all(x["faces"] == [] for x in r.json()["results"])
    assert seconds < 30, seconds  # 1.4 s on this 2-core machine


def test_a_parquet_folder_reads_as_it_is_after_a_kill_mid_write_or_damage(tmp_path, capsys):
    """A part being written is hidden ('.part-N.parquet.tmp'), a damaged part is moved aside
    as '_part-N.parquet.damaged': pyarrow reads the folder whatever a kill or resume left."""
    pq = pytest.importorskip("pyarrow.parquet")
    files = sorted(TEST_CROPS.glob("*.jpg"))[:4]
    out = tmp_path / "out"
    argv = ["predict", *map(str, files[:2]), "--no-detect", "--output", str(out), "--format",
            "parquet"]
    assert main(argv) == 0
    (out / ".part-00009.parquet.tmp").write_bytes(b"PAR1 half written")  # as a kill leaves it
    assert pq.read_table(out).num_rows == 2
    part = sorted(out.glob("part-*.parquet"))[0]
    part.write_bytes(b"PAR1 not parquet")
    argv[1:3] = map(str, files)
    capsys.readouterr()
    assert main(argv) == 0
    assert (out / f"_{part.name}.damaged").is_file() and not list(out.glob("*.tmp"))
    assert sorted(pq.read_table(out)["file"].to_pylist()) == sorted(map(str, files))
