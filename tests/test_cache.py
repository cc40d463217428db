import json
import os

import numpy as np
import pytest

from faceattr.data.cache import CACHED, PENDING, open_cache, prepare
from faceattr.data.dataset import DatasetSpec, resolve
from faceattr.errors import FaceAttrError


def dataset(folder, labels, **kw):
    return resolve(DatasetSpec(folder, labels, framing="celeba-aligned", **kw))


def test_prepare_and_open(small_aligned, celeba_attr_small, tmp_path):
    ds = dataset(small_aligned, celeba_attr_small)
    s = prepare(ds, tmp_path / "c", size=32, workers=1, progress=False)
    assert (s.cached, s.skipped) == (40, 0)
    c = open_cache(tmp_path / "c")
    assert c.images.shape == (40, 32, 32, 3) and c.images.dtype == np.uint8
    assert (c.labels == ds.labels).all() and c.files == ds.files
    assert c.images.mean() > 20  # real pixels were written


def test_broken_image_is_skipped_not_fatal(small_aligned, celeba_attr_small, tmp_path):
    (small_aligned / "000003.jpg").write_bytes(b"not a jpeg at all")
    ds = dataset(small_aligned, celeba_attr_small)
    s = prepare(ds, tmp_path / "c", size=32, workers=1, progress=False)
    assert (s.cached, s.skipped) == (39, 1) and "000003.jpg" in s.failures[0]
    c = open_cache(tmp_path / "c")
    assert len(c) == 39 and "000003.jpg" not in c.files


def test_restart_after_interruption(small_aligned, celeba_attr_small, tmp_path):
    ds = dataset(small_aligned, celeba_attr_small)
    full = prepare(ds, tmp_path / "full", size=32, workers=1, progress=False)
    assert full.cached == 40
    reference = np.array(open_cache(tmp_path / "full").images)
    # An interrupted run leaves: meta.complete = False, status PENDING for the rest, and
    # whatever bytes happened to be in images.u8. Reproduce that state exactly.
    out = tmp_path / "part"
    prepare(ds, out, size=32, workers=1, progress=False)
    meta = json.loads((out / "meta.json").read_text())
    meta["complete"] = False
    (out / "meta.json").write_text(json.dumps(meta))
    status = np.memmap(out / "status.u8", np.uint8, "r+")
    status[25:] = PENDING
    status.flush()
    img = np.memmap(out / "images.u8", np.uint8, "r+", shape=(40, 32, 32, 3))
    img[25:] = 0
    img.flush()
    with pytest.raises(FaceAttrError, match="incomplete"):
        open_cache(out)
    s = prepare(ds, out, size=32, workers=1, progress=False)
    assert s.resumed_from == 25 and s.cached == 40
    assert (np.fromfile(out / "status.u8", np.uint8) == CACHED).all()
    assert np.array_equal(np.array(open_cache(out).images), reference)


def test_up_to_date_and_stale(small_aligned, celeba_attr_small, tmp_path):
    ds = dataset(small_aligned, celeba_attr_small)
    out = tmp_path / "c"
    prepare(ds, out, size=32, workers=1, progress=False)
    again = prepare(ds, out, size=32, workers=1, progress=False)
    assert "up to date" in again.line(out)
    with pytest.raises(FaceAttrError, match=r"other settings \(size: 32 -> 48\)"):
        prepare(ds, out, size=48, workers=1, progress=False)
    st = (small_aligned / "000002.jpg").stat()
    os.utime(small_aligned / "000002.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(FaceAttrError, match="stale"):
        prepare(dataset(small_aligned, celeba_attr_small), out, size=32, workers=1,
                progress=False)
    s = prepare(dataset(small_aligned, celeba_attr_small), out, size=32, workers=1,
                force=True, progress=False)
    assert s.cached == 40 and s.resumed_from == 0


def test_not_a_cache(tmp_path):
    with pytest.raises(FaceAttrError, match="not a faceattr cache"):
        open_cache(tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "meta.json").write_text("{broken")
    with pytest.raises(FaceAttrError, match="corrupt cache metadata"):
        open_cache(tmp_path / "x")


def test_prepare_detect_frames_by_the_face_found(small_aligned, celeba_attr_small, tmp_path,
                                                 capsys):
    """prepare --detect aligns each image by YuNet's landmarks (the face pipeline of predict):
    its squares match what the Recognizer's pipeline gives for the same files, and they differ
    from the dataset framing's; the settings record the detector."""
    from faceattr.cli import main
    from faceattr.preprocess.faces import FacePipeline

    ds = dataset(small_aligned, celeba_attr_small)
    s = prepare(ds, tmp_path / "det", size=64, workers=1, progress=False, detector="yunet")
    plain = prepare(ds, tmp_path / "plain", size=64, workers=1, progress=False)
    assert s.cached == plain.cached == 40
    det, framed = open_cache(tmp_path / "det"), open_cache(tmp_path / "plain")
    pipe = FacePipeline(64, "yunet")
    for i in (0, 17, 39):
        want, fell_back = pipe.largest_or_framed(small_aligned / det.files[i])
        assert not fell_back and (np.asarray(det.images[i]) == want).all()
    assert np.abs(det.images.astype(float) - framed.images).mean() > 2
    meta = json.loads((tmp_path / "det" / "meta.json").read_text())
    assert meta["settings"]["detector"] == "yunet"
    with pytest.raises(FaceAttrError, match="other settings"):
        prepare(ds, tmp_path / "det", size=64, workers=1, progress=False)
    assert main(["prepare", "--images", str(small_aligned), "--labels", str(celeba_attr_small),
                 "--framing", "celeba-aligned", "--detect", "--out", str(tmp_path / "cli"),
                 "--quiet"]) == 0
    assert "40 images cached" in capsys.readouterr().out


def test_a_damaged_cache_is_refused_and_repaired(small_aligned, celeba_attr_small, tmp_path,
                                                 capsys):
    ds = dataset(small_aligned, celeba_attr_small)
    out = tmp_path / "c"
    prepare(ds, out, size=32, workers=1, progress=False)
    reference = np.array(open_cache(out).images)
    images = out / "images.u8"
    images.write_bytes(images.read_bytes()[: 15 * 32 * 32 * 3 + 100])  # cut inside row 15
    (out / "labels.npy").write_bytes(b"\x93NUMPY broken")
    with pytest.raises(FaceAttrError, match="damaged; rerun 'faceattr prepare'"):
        open_cache(out)  # training or evaluating on it: one line, never black faces
    s = prepare(ds, out, size=32, workers=1, progress=False)
    err = capsys.readouterr().err
    assert "cut short" in err and "25 images are done again" in err and "labels.npy" in err
    assert s.resumed_from == 15 and s.cached == 40
    c = open_cache(out)
    assert np.array_equal(np.array(c.images), reference) and (c.labels == ds.labels).all()
    (out / "status.u8").write_bytes(b"\x01" * 7)  # damaged status: everything is done again
    s = prepare(ds, out, size=32, workers=1, progress=False)
    assert s.resumed_from == 0 and s.cached == 40
    assert np.array_equal(np.array(open_cache(out).images), reference)
