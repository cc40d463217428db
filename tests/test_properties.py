"""Property-based tests: label files in every format and encoding, images in every mode."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from faceattr.data.labels import read_celeba_attributes, read_labels, read_partition
from faceattr.errors import FaceAttrError
from faceattr.preprocess.framing import FILL
from faceattr.preprocess.image import decode, to_rgb

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
names = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="_"),
                min_size=1, max_size=12)


@st.composite
def tables(draw):
    attrs = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    files = draw(st.lists(names.map(lambda n: n + ".jpg"), max_size=8, unique=True))
    values = draw(st.lists(st.lists(st.booleans(), min_size=len(attrs), max_size=len(attrs)),
                           min_size=len(files), max_size=len(files)))
    return attrs, files, np.array(values, dtype=np.uint8).reshape(len(files), len(attrs))


@SETTINGS
@given(tables(), st.booleans(), st.sampled_from(["\n", "\r\n"]), st.sampled_from(["01", "-11"]))
def test_label_files_round_trip(tmp_path, table, bom, newline, encoding):
    attrs, files, values = table
    prefix = "\ufeff" if bom else ""
    celeba = [str(len(files)), " ".join(attrs)]
    celeba += [f"{f} " + " ".join("1" if v else "-1" for v in row) for f, row in zip(files, values)]
    no, yes = ("0", "1") if encoding == "01" else ("-1", "1")
    rows = [",".join(["file", *attrs])]
    rows += [",".join([f, *(yes if v else no for v in row)]) for f, row in zip(files, values)]
    part = [f"{f} {i % 3}" for i, f in enumerate(files)]
    for name, lines in (("a.txt", celeba), ("a.csv", rows)):
        path = tmp_path / name
        path.write_bytes((prefix + newline.join(lines) + newline).encode("utf-8"))
        t = read_labels(path)
        assert list(t.attributes) == attrs and list(t.files) == files
        assert (t.values == values).all()
    path = tmp_path / "part.txt"
    path.write_bytes((prefix + newline.join(part) + newline).encode("utf-8"))
    assert read_partition(path) == {f: i % 3 for i, f in enumerate(files)}


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_as_a_label_file_fail_cleanly(tmp_path, data):
    path = tmp_path / "labels.txt"
    path.write_bytes(data)
    for reader in (read_celeba_attributes, read_partition):
        try:
            reader(path)
        except FaceAttrError as e:
            assert str(e).startswith(str(path)) and "\n" not in str(e)


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_as_an_image_fail_cleanly(data):
    try:
        decode(data, "upload.bin")
    except FaceAttrError as e:
        assert str(e).startswith("upload.bin: ") and "\n" not in str(e)


def _grey(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (20, 24), dtype=np.uint8)


def as_mode(g: np.ndarray, mode: str) -> Image.Image:
    """The grey picture ``g`` (uint8) in Pillow mode ``mode``, opaque."""
    if mode == "I;16":
        return Image.fromarray(g.astype(np.uint16) * 257)
    if mode == "I":
        return Image.fromarray(g.astype(np.int32) * 257, "I")
    if mode == "F":
        return Image.fromarray(g.astype(np.float32) / 255.0, "F")
    return Image.fromarray(g, "L").convert(mode)


@SETTINGS
@given(st.integers(0, 10_000), st.sampled_from(["L", "I;16", "I", "F", "LA", "RGBA", "P", "1",
                                                "CMYK", "YCbCr", "RGB"]),
       st.sampled_from([None, "PNG", "TIFF", "WEBP"]))
def test_every_mode_becomes_the_same_grey(seed, mode, fmt):
    g = _grey(seed)
    image = as_mode(g, mode)
    if fmt is not None:
        buf = io.BytesIO()
        try:
            image.save(buf, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
        except (OSError, KeyError, ValueError):
            return  # this format cannot hold this mode
        if Image.open(io.BytesIO(buf.getvalue())).mode != image.mode:
            return  # the encoder converted it on saving: nothing of ours to test
        image = decode(buf.getvalue(), f"x.{fmt.lower()}")
    rgb = np.asarray(to_rgb(image), dtype=int)
    assert rgb.shape == (20, 24, 3)
    want = np.asarray(Image.fromarray(g).convert(mode).convert("L")) if mode in ("1", "P") else g
    tol = 3 if mode in ("CMYK", "YCbCr") else 1
    assert np.abs(rgb - np.asarray(want, dtype=int)[..., None]).max() <= tol


@pytest.mark.parametrize("mode", ["RGBA", "LA", "PA"])
def test_transparency_is_the_border_grey(mode):
    clear = Image.new("RGBA", (32, 32), (255, 0, 0, 0)).convert(mode)
    assert (np.asarray(to_rgb(clear)) == FILL).all()
    p = Image.new("P", (32, 32), 0)
    p.info["transparency"] = 0
    assert (np.asarray(to_rgb(p)) == FILL).all()
