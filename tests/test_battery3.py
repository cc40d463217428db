"""Hardening, third round: faceattr never writes onto an input or over an existing file without
--overwrite (checked before any work), names never collide, tar members stay inside."""

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from faceattr.cli import main

from .conftest import CELEBA_ATTR, TEST_CROPS

CROPS = sorted(TEST_CROPS.glob("*.jpg"))


def digest(path: Path) -> bytes:
    return path.read_bytes()


def test_annotate_never_onto_the_video_it_reads(tmp_path, capsys):
    pytest.importorskip("av", reason="pip install 'faceattr[video]'")
    from .videos import make_video

    clip = tmp_path / "v.mp4"
    make_video(clip, CROPS[:3], seconds=2.0)
    before = digest(clip)
    assert main(["predict", str(clip), "--annotate", str(clip)]) == 2
    assert "--annotate" in capsys.readouterr().err and digest(clip) == before


def test_evaluate_reports_never_replace_an_input_or_a_file(tmp_path, capsys):
    images = tmp_path / "crops"
    images.mkdir()
    for f in CROPS[:8]:
        shutil.copy(f, images / f.name)
    labels = tmp_path / "labels.txt"
    rows = [r for r in CELEBA_ATTR.read_text().splitlines()[2:] if r.split()[0] in
            {f.name for f in CROPS[:8]}]
    labels.write_text("\n".join([str(len(rows)), CELEBA_ATTR.read_text().splitlines()[1],
                                 *rows]) + "\n")
    before = digest(labels)
    base = ["evaluate", "--images", str(images), "--labels", str(labels)]
    assert main([*base, "--json", str(labels)]) == 2
    assert "is one of the inputs" in capsys.readouterr().err and digest(labels) == before
    chart = tmp_path / "mine.jpg"
    chart.write_bytes(b"the user's own picture")
    assert main([*base, "--chart", str(chart)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert chart.read_bytes() == b"the user's own picture"
    out = tmp_path / "r.json"
    out.write_text("{}")
    assert main([*base, "--json", str(out), "--overwrite"]) == 0
    assert json.loads(out.read_text())["images"] == 8


def test_export_never_replaces_the_model(tmp_path, tiny_model, capsys):
    pytest.importorskip("onnx")
    model = tmp_path / "m.safetensors"
    shutil.copy(tiny_model, model)
    before = digest(model)
    assert main(["export", "--model", str(model), "--onnx", str(model)]) == 2
    assert "is one of the inputs" in capsys.readouterr().err and digest(model) == before
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"old")
    assert main(["export", "--model", str(model), "--onnx", str(onnx)]) == 2
    assert onnx.read_bytes() == b"old"
    assert main(["export", "--model", str(model), "--onnx", str(onnx), "--overwrite"]) == 0
    assert onnx.stat().st_size > 1000


def test_annotate_keeps_folders_and_never_replaces_a_file(tmp_path, capsys):
    for folder, crop in (("a", CROPS[0]), ("b", CROPS[1])):
        (tmp_path / "in" / folder).mkdir(parents=True)
        shutil.copy(crop, tmp_path / "in" / folder / "x.jpg")  # the same name twice
    out = tmp_path / "ann"
    assert main(["predict", str(tmp_path / "in"), "--annotate", str(out)]) == 0
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert made == ["a/x.annotated.jpg", "b/x.annotated.jpg"]
    assert digest(out / "a/x.annotated.jpg") != digest(out / "b/x.annotated.jpg")
    mine = out / "a" / "x.annotated.jpg"
    mine.write_bytes(b"mine")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "in"), "--annotate", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err and mine.read_bytes() == b"mine"
    assert main(["predict", str(tmp_path / "in"), "--annotate", str(out), "--overwrite"]) == 0
    assert mine.stat().st_size > 1000
    # a folder that cannot be made is refused before any work
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["predict", str(CROPS[0]), "--annotate", str(blocker / "sub")]) == 2
    assert "cannot write there" in capsys.readouterr().err


def test_names_with_newlines_and_escapes_resume_cleanly(tmp_path, capsys):
    folder = tmp_path / "odd"
    folder.mkdir()
    names = ["two\nlines.jpg", os.fsdecode(b"face-\xff.jpg"), "face-\\udcff.jpg", "plain.jpg"]
    for n, crop in zip(names, CROPS):
        (folder / n).write_bytes(crop.read_bytes())
    out = tmp_path / "r.csv"
    for _ in range(3):  # a first run, then two resumes: nothing added, nothing damaged
        assert main(["predict", str(folder), "--no-detect", "--output", str(out)]) == 0
        err = capsys.readouterr().err
        assert "dropped" not in err
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 4 and len({r["file"] for r in rows}) == 4
    assert all("\n" not in r["file"] for r in rows)
    assert any(r["file"].endswith("two\\nlines.jpg") for r in rows)


def test_a_run_whose_loss_is_not_finite_stops_and_a_nan_model_is_refused(
        tmp_path, tiny_cache, tiny_model, capsys):
    import torch

    from faceattr import FaceAttrError, Recognizer
    from faceattr.models.modelfile import load_model, read_metadata, save_model

    from .conftest import TINY_TRAIN

    sets = [a for s in [*TINY_TRAIN, "train.epochs=1", "train.lr=1e9",
                        f'data.train=["{tiny_cache}"]'] for a in ("--set", s)]
    assert main(["train", "--out", str(tmp_path / "run"), "--quiet", *sets]) == 2
    err = capsys.readouterr().err
    assert "training stopped: the loss is nan" in err and "lower train.lr" in err
    assert not (tmp_path / "run" / "model.safetensors").exists()
    for bad in ("train.lr=nan", "augment.rotate=1e9", "train.seed=-1"):
        assert main(["train", "--out", str(tmp_path / "r2"), "--set", bad]) == 2
        assert bad.split("=")[0] in capsys.readouterr().err
    model, _ = load_model(tiny_model)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    meta = {k: v for k, v in read_metadata(tiny_model).items() if k not in ("format", "config")}
    nan = tmp_path / "nan.safetensors"
    save_model(model, nan, meta)
    with pytest.raises(FaceAttrError, match="not finite"):
        Recognizer(nan, backend="torch")
    assert main(["export", "--model", str(nan), "--onnx", str(tmp_path / "n.onnx")]) == 2
    assert "not finite" in capsys.readouterr().err


def test_many_image_calls_check_their_arguments(tmp_path):
    from faceattr import FaceAttrError, Recognizer

    rec = Recognizer(detect=False)
    with pytest.raises(FaceAttrError, match="takes a list of images, got one"):
        rec.predict_batch(str(CROPS[0]))
    for bad in (0, -1, 2.5):
        with pytest.raises(FaceAttrError, match="batch_size"):
            rec.predict_batch([CROPS[0]], batch_size=bad)
        with pytest.raises(FaceAttrError, match="batch_size"):
            list(rec.iter_predict([CROPS[0]], batch_size=bad))
    with pytest.raises(FaceAttrError, match="workers -2"):
        rec.predict_batch([CROPS[0]], workers=-2)
    pytest.importorskip("av", reason="pip install 'faceattr[video]'")
    with pytest.raises(FaceAttrError, match="batch_size"):
        rec.predict_video(tmp_path / "v.mp4", batch_size=0)


def test_an_unreadable_subfolder_is_named(tmp_path, monkeypatch, capsys):
    import faceattr.storage.shards as shards

    (tmp_path / "ok").mkdir()
    shutil.copy(CROPS[0], tmp_path / "ok" / "a.jpg")
    real = os.walk

    def walk(top, onerror=None, **kw):  # as os.walk does on a folder it may not list
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "locked")))
        yield from real(top, onerror=onerror, **kw)

    monkeypatch.setattr(shards.os, "walk", walk)
    assert shards.scan_images(tmp_path) == ["ok/a.jpg"]
    assert f"not read: {tmp_path / 'locked'}: Permission denied" in capsys.readouterr().err


def test_evaluate_with_no_readable_image_is_an_error(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    name = CROPS[0].name
    (folder / name).write_bytes(b"\xff\xd8 broken")
    labels = tmp_path / "l.txt"
    row = next(r for r in CELEBA_ATTR.read_text().splitlines()[2:] if r.startswith(name))
    labels.write_text(f"1\n{CELEBA_ATTR.read_text().splitlines()[1]}\n{row}\n")
    assert main(["evaluate", "--images", str(folder), "--labels", str(labels)]) == 2
    assert "could be read" in capsys.readouterr().err


# ---- video: bounded memory, the stream's rotation ---------------------------------------------

def test_a_4k_video_stays_under_the_memory_limit(tmp_path):
    """Frames are reduced in FFmpeg's scaler as they are decoded (at most 1280 px): a 4K clip
    is read under a 1.5 GB address-space limit, in a fresh process, as a user would run it."""
    pytest.importorskip("av", reason="pip install 'faceattr[video]'")
    import resource
    import subprocess
    import sys

    from faceattr.preprocess.video import VideoReader

    from .test_battery2 import MEMORY_LIMIT
    from .videos import make_video

    clip = tmp_path / "4k.mp4"
    make_video(clip, CROPS[:3], seconds=3.0, fps=10, size=(3840, 2160), side=600)
    frames = list(VideoReader(clip, fps=5))
    assert frames and all(f.image.size == (1280, 720) and f.scale == 3.0 for f in frames)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    r = subprocess.run([sys.executable, "-m", "faceattr", "predict", str(clip), "--format",
                        "jsonl"], capture_output=True, text=True, preexec_fn=limit, timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    records = [json.loads(line) for line in r.stdout.splitlines()]
    faces = [x for x in records if "frame" in x]
    assert faces and max(x["box"][2] for x in faces) > 1500  # boxes in the 4K frame's pixels
    assert len([x for x in records if x.get("summary")]) == 3


def test_a_sideways_phone_video_is_read_upright(tmp_path):
    """A portrait video stored sideways with a display rotation (as phones write it) is turned
    upright before faces are found, as EXIF is honoured for photos."""
    av = pytest.importorskip("av", reason="pip install 'faceattr[video]'")
    from PIL import Image

    from faceattr import Recognizer

    upright = Image.open(CROPS[0]).convert("RGB").resize((200, 200))
    canvas = Image.new("RGB", (360, 640), (120, 120, 120))
    canvas.paste(upright, (80, 200))
    stored = canvas.rotate(90, expand=True)  # 640x360, the face on its side
    clip = tmp_path / "phone.mp4"
    with av.open(str(clip), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = stored.width, stored.height, "yuv420p"
        s.set_display_rotation(-90)  # shown turned back by 90 degrees: upright
        for _ in range(10):
            for packet in s.encode(av.VideoFrame.from_image(stored)):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    rec = Recognizer()
    frames = [p for p in rec.predict_video(clip, fps=5) if p.video.frame is not None]
    photo = rec.predict(canvas)
    assert frames and all(p.face.box[2] <= 360 + 1 for p in frames)  # the upright frame's width
    got = frames[0].probabilities
    assert max(abs(got[a] - photo.probabilities[a]) for a in got) < 0.15
    assert frames[0].decisions["Male"] == photo.decisions["Male"]


# ---- the service's memory -----------------------------------------------------------------------

@pytest.mark.slow
def test_service_memory_with_four_16_bit_8k_pngs(tmp_path):
    """Four concurrent uploads of a 129 KB 16-bit 7999x7999 PNG (a float64 copy of each once
    took the service to 6.3 GB): each is reduced in its own mode as it is decoded; the server
    process's peak resident memory stays under 2 GB."""
    import socket
    import subprocess
    import sys
    import threading
    import time

    import httpx
    import numpy as np
    from PIL import Image

    a = np.zeros((7999, 7999), np.uint16)
    a[3000:5000, 3000:5000] = 40000
    png = tmp_path / "big16.png"
    Image.fromarray(a).save(png)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "faceattr", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        data, codes = png.read_bytes(), []

        def post():
            r = httpx.post(url + "/v1/predict", timeout=120,
                           files=[("files", ("big.png", data, "image/png"))])
            codes.append(r.status_code)

        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kb = int(next(line for line in status.splitlines()
                           if line.startswith("VmHWM")).split()[1])
    finally:
        proc.terminate()
        proc.wait(10)
    assert codes == [200] * 4
    assert peak_kb < 2_000_000, f"peak {peak_kb / 1e6:.2f} GB"


def test_service_refuses_before_reading_what_it_cannot_hold():
    from fastapi.testclient import TestClient

    from faceattr.serving.app import ByteBudget, create_app

    b = ByteBudget(100)
    assert b.take(80) and not b.take(30) and b.take(20)  # 100 in flight: full
    b.give(80)
    b.give(20)
    assert b.used == 0 and b.take(500)  # one request alone always fits
    app = create_app(max_inflight_bytes=1000)
    client = TestClient(app)
    jpeg = CROPS[0].read_bytes()
    assert client.post("/v1/predict", files=[("files", ("a.jpg", jpeg, "image/jpeg"))]
                       ).status_code == 200
    app.state.budget.take(900)  # another request holds most of the budget
    r = client.post("/v1/predict", files=[("files", ("a.jpg", jpeg, "image/jpeg"))])
    assert r.status_code == 503 and "retry" in r.json()["detail"]
    assert app.state.budget.used == 900  # the refused request took nothing


def test_odd_python_inputs_are_one_line_errors():
    import numpy as np
    from PIL import Image

    from faceattr import FaceAttrError, Recognizer

    rec = Recognizer(detect=False)
    closed = Image.new("RGB", (64, 64))
    closed.close()
    for image, msg in [(np.full((20, 20, 3), "a"), "array of <U1 is not an image"),
                       (np.array([[object()] * 20] * 20, dtype=object), "array of object"),
                       (Image.new("La", (64, 64)), "cannot use this PIL image"),
                       (closed, "cannot use this PIL image")]:
        with pytest.raises(FaceAttrError, match=msg):
            rec.predict(image)
    for kw, msg in [({"min_face": "20"}, "minimum face size '20': must be a number"),
                    ({"detector_score": "x"}, "detector option score 'x': must be a number")]:
        with pytest.raises(FaceAttrError, match=msg):
            Recognizer(**kw)


def test_video_edge_cases_are_one_line_messages(tmp_path, capsys):
    av = pytest.importorskip("av", reason="pip install 'faceattr[video]'")
    import numpy as np

    from .videos import make_video

    # an audio-only mp4
    audio = tmp_path / "audio.mp4"
    with av.open(str(audio), "w") as c:
        s = c.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                           layout="mono")
        frame.sample_rate = 16000
        for packet in s.encode(frame):
            c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    assert main(["predict", str(audio)]) == 1
    assert "no video stream in the file" in capsys.readouterr().err
    # an odd width, annotated
    odd = tmp_path / "odd.mp4"
    make_video(odd, CROPS[:3], seconds=2.0, fps=10, size=(642, 360))
    out = tmp_path / "odd.annotated.mp4"
    assert main(["predict", str(odd), "--annotate", str(out)]) == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.width == 642
    # a damaged video among others: the others are still done
    broken = tmp_path / "broken.mp4"
    data = bytearray(odd.read_bytes())
    data[len(data) // 3: len(data) // 3 + 2000] = b"\\x00" * 2000
    broken.write_bytes(bytes(data[: len(data) // 2]))
    capsys.readouterr()
    rc = main(["predict", str(broken), str(odd), "--format", "jsonl"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and rc in (0, 1)
    assert any(json.loads(line)["file"] == str(odd) for line in captured.out.splitlines())


def test_a_bad_shard_in_a_collection_and_other_refusals(tmp_path, capsys):
    from fastapi.testclient import TestClient

    from faceattr.serving.app import create_app
    from faceattr.storage.shards import scan_images

    folder = tmp_path / "collection"
    folder.mkdir()
    shutil.copy(CROPS[0], folder / "a.jpg")
    good = CROPS[1].read_bytes()
    import io
    import tarfile

    with tarfile.open(folder / "good.tar", "w") as tar:
        info = tarfile.TarInfo("b.jpg")
        info.size = len(good)
        tar.addfile(info, io.BytesIO(good))
    (folder / "cut.tar").write_bytes((folder / "good.tar").read_bytes()[:700])  # truncated
    assert scan_images(folder) == ["a.jpg", "good.tar/b.jpg"]  # the bad shard is named
    assert "not read: cut.tar" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # a usage error, as argparse reports them
        main(["export", "--model", "fast", "--onnx", str(tmp_path / "x.onnx"), "--opset", "99"])
    assert stop.value.code == 2 and "must be between 11 and 20" in capsys.readouterr().err
    r = TestClient(create_app()).post("/v1/predict", data={"files": "not a file"},
                                      files=[("other", ("x.txt", b"x", "text/plain"))])
    assert r.status_code == 422 and "is not a file" in r.json()["detail"]


def _add(tar, name: str, data: bytes | None = None, link: str | None = None, kind=None):
    import io
    import tarfile

    info = tarfile.TarInfo(name)
    if link is not None:
        info.type, info.linkname = kind, link
        tar.addfile(info)
    else:
        info.size = len(data or b"")
        tar.addfile(info, io.BytesIO(data or b""))


def test_links_nested_and_compressed_tars_are_read_or_named(tmp_path, capsys):
    import tarfile

    face = CROPS[0].read_bytes()
    col = tmp_path / "col"
    col.mkdir()
    with tarfile.open(col / "links.tar", "w") as tar:
        _add(tar, "a.jpg", face)
        _add(tar, "hard.jpg", link="a.jpg", kind=tarfile.LNKTYPE)  # the member's bytes
        _add(tar, "sub/sym.jpg", link="../a.jpg", kind=tarfile.SYMTYPE)
        _add(tar, "out.jpg", link="/etc/passwd.jpg", kind=tarfile.SYMTYPE)  # never the host
        _add(tar, "inner.tar", b"x" * 1024)
    with tarfile.open(col / "z.tar.gz", "w:gz") as tar:
        _add(tar, "b.jpg", face)
    shutil.copy(col / "z.tar.gz", col / "gzip-inside.tar")
    assert main(["predict", str(col), "--no-detect", "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    files = [json.loads(line)["file"] for line in out.splitlines()]
    assert files == [f"{col}/links.tar/{m}" for m in ("a.jpg", "hard.jpg", "sub/sym.jpg")]
    probs = {json.dumps(json.loads(line)["probabilities"]) for line in out.splitlines()}
    assert len(probs) == 1  # all three are the one member's bytes
    for said in ("links.tar/inner.tar (a tar inside a tar", "links.tar/out.jpg (a link to",
                 "z.tar.gz: a compressed tar archive is not read in place",
                 "gzip-inside.tar: gzip-compressed"):
        assert said in err
    # named directly among other inputs: that input fails, the others are done
    assert main(["predict", str(col / "gzip-inside.tar"), str(CROPS[1]), "--no-detect",
                 "--format", "jsonl"]) == 1
    out, err = capsys.readouterr()
    assert "gzip-compressed" in err and json.loads(out)["file"] == str(CROPS[1])


def test_a_path_over_255_bytes_fails_alone(tmp_path, capsys):
    long = tmp_path / ("x" * 300 + ".jpg")
    assert main(["predict", str(CROPS[0]), str(long), str(CROPS[1]), "--no-detect",
                 "--format", "jsonl"]) == 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["file"] for line in out.splitlines()] == [str(CROPS[0]),
                                                                       str(CROPS[1])]
    assert "File name too long" in err and "1 of 3 inputs failed" in err


def test_animated_pictures_say_only_the_first_frame_is_read(tmp_path, capsys):
    import warnings

    from PIL import Image

    from faceattr import Recognizer
    from faceattr.errors import FaceAttrWarning

    a = Image.open(CROPS[0]).convert("RGB")
    names = []
    for ext in ("gif", "webp", "png"):
        names.append(tmp_path / f"anim.{ext}")
        a.save(names[-1], save_all=True, append_images=[a.rotate(20), a])
    a.save(tmp_path / "still.png")
    assert main(["predict", *map(str, names), str(tmp_path / "still.png"), "--no-detect",
                 "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 4
    for n in names:
        assert f"note: {n}: animated (3 frames); only the first frame is read" in err
    assert "still.png" not in err
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Recognizer(detect=False).predict(names[0])
    assert [w.category for w in caught] == [FaceAttrWarning]


def test_a_variable_frame_rate_video_keeps_its_times_when_annotated(tmp_path):
    av = pytest.importorskip("av", reason="pip install 'faceattr[video]'")
    from fractions import Fraction

    import numpy as np
    from PIL import Image

    # ten frames in the first third of a second, then one every 1.5 s: 13.8 s in all
    times = np.r_[np.arange(10) / 30, 1 + np.arange(10) * 1.5]
    face = Image.open(CROPS[0]).convert("RGB").resize((140, 140))
    src = tmp_path / "vfr.mp4"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(times):
            im = Image.new("RGB", (320, 240), (100, 120, 140))
            im.paste(face, (20 + i * 3, 50))
            frame = av.VideoFrame.from_image(im)
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    out = tmp_path / "vfr.annotated.mp4"
    assert main(["predict", str(src), "--annotate", str(out), "--format", "jsonl"]) == 0

    def frame_times(path):
        with av.open(str(path)) as c:
            return [round(float(f.time), 3) for f in c.decode(c.streams.video[0])]

    assert frame_times(out) == frame_times(src) == [round(t, 3) for t in times]


def test_turned_faces_are_set_upright_and_said(tmp_path, capsys):
    """YuNet places the landmarks of a turned face as if it were upright; the way-up check
    finds the turn, so the face is aligned upright and answered as the upright one."""
    from PIL import Image

    from faceattr import Recognizer
    from faceattr.preprocess.detectors.yunet import YuNet

    rec = Recognizer()
    for crop in CROPS[:4]:
        picture = Image.open(crop).convert("RGB")
        upright = rec.predict(picture)
        assert upright.face.turned == 0
        for turn in (90, 180, 270):
            got = rec.predict_faces(picture.rotate(turn, expand=True))
            if not got:  # YuNet misses some faces turned 90 degrees (benchmarks/turned_faces.py)
                continue
            face = got[0]
            assert face.face.turned == turn and face.record()["turned"] == turn
            assert face.decisions["Male"] == upright.decisions["Male"]
            lo, hi = upright.age_range  # within the upright face's 80% range
            assert lo <= face.age <= hi
    without = Recognizer(detector=YuNet(upright=False))
    face = without.predict(Image.open(CROPS[0]).rotate(180))
    assert face.face.turned == 0  # the check off: as YuNet found it
    turned = tmp_path / "turned.jpg"
    Image.open(CROPS[0]).rotate(180).save(turned)
    assert main(["predict", str(turned)]) == 0
    assert "note: the face is turned 180 degrees; read upright" in capsys.readouterr().out


def test_a_face_unlike_a_natural_one_is_flagged(tmp_path, capsys):
    from PIL import Image, ImageOps

    from faceattr import Recognizer
    from faceattr.preprocess.faces import LOW_LIKENESS

    rec = Recognizer()
    for crop in CROPS[:4]:
        picture = Image.open(crop).convert("RGB")
        assert rec.predict(picture).likeness > LOW_LIKENESS
        inverted = rec.predict_faces(ImageOps.invert(picture))
        assert not inverted or inverted[0].likeness < LOW_LIKENESS
    path = tmp_path / "inverted.jpg"
    ImageOps.invert(Image.open(CROPS[0]).convert("RGB")).save(path)
    assert main(["predict", str(path)]) == 0
    assert "note: unlike a natural upright face (likeness" in capsys.readouterr().out
    assert main(["predict", str(path), "--format", "jsonl"]) == 0
    assert json.loads(capsys.readouterr().out)["likeness"] < LOW_LIKENESS


def test_without_torch_a_file_that_is_not_ours_is_named_as_such(tmp_path, monkeypatch):
    """The light install (no torch): a pickle, text or folder given as --model is 'not a
    faceattr model', not 'install PyTorch'; only a real faceattr .safetensors file needs it."""
    import sys

    from faceattr.errors import FaceAttrError
    from faceattr.inference.backends import load_engine

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    (tmp_path / "p.pt").write_bytes(b"\x80\x04\x95pickle")
    (tmp_path / "notes.md").write_text("# hello\n")
    for name, header in (("meta.safetensors", b'{"__metadata__": 5}'),
                         ("deep.safetensors", b"[" * 100_000)):
        (tmp_path / name).write_bytes(len(header).to_bytes(8, "little") + header)
    for name in ("p.pt", "notes.md", "meta.safetensors", "deep.safetensors"):
        with pytest.raises(FaceAttrError, match="not a faceattr model file"):
            load_engine(tmp_path / name)
    with pytest.raises(FaceAttrError, match="is a folder"):
        load_engine(tmp_path)
    ours = Path(__file__).parents[1] / "src/faceattr/weights/fast.safetensors"
    with pytest.raises(FaceAttrError, match="needs PyTorch"):
        load_engine(ours)


def test_an_empty_folder_is_named(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["predict", str(empty), "--no-detect"]) == 2
    assert f"{empty}: no image or video files in it" in capsys.readouterr().err
    face = Path(__file__).parents[1] / "examples/face.jpg"
    assert main(["predict", str(empty), str(face), "--no-detect", "--format", "jsonl"]) == 0
    out = capsys.readouterr()
    assert f"{empty}: no image or video files in it" in out.err and len(out.out.splitlines()) == 1
