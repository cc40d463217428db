"""The bad-input battery: every kind of bad input through every surface it reaches.

For each kind: the documented exit status (CLI) or HTTP status (service) or exception (API), a
one-line message that names the culprit, no traceback, and nothing already written lost.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
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
from faceattr.inference.annotate import free_spot
from faceattr.serving.app import MAX_FILES, create_app

from .badinput import EXAMPLE, corpus
from .conftest import ALIGNED, CELEBA_ATTR, TINY_TRAIN

BAD = corpus()
IDS = [b.name for b in BAD]


def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    for b in BAD:
        (folder / b.name).write_bytes(b.data)
    return folder


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer()


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


# ---- images: CLI, API, service ---------------------------------------------------------------

@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_bad_image_cli(bad, bad_dir, capsys):
    path = bad_dir / bad.name
    rc = main(["predict", str(path), "--format", "jsonl"])
    err = capsys.readouterr().err
    assert rc == 1
    skipped = [line for line in err.splitlines() if line.startswith("skipped:")]
    assert skipped == [f"skipped: {path}: " + skipped[0].split(f"{path}: ", 1)[1]]
    assert bad.message in skipped[0] and "Traceback" not in err


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_bad_image_api(bad, bad_dir, rec):
    with pytest.raises(FaceAttrError) as e:
        rec.predict(bad_dir / bad.name)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(bad_dir / bad.name)) and bad.message in msg
    assert not rec.predict_batch([bad_dir / bad.name])[0].ok


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_bad_image_service(bad, client):
    r = client.post("/v1/predict", files=[("files", (bad.name, bad.data, "image/png"))])
    assert r.status_code == bad.status, r.text
    detail = r.json()["detail"]
    assert detail.startswith(bad.name) and bad.message in detail and "\n" not in detail


def test_all_bad_images_in_one_cli_process(bad_dir):
    """The real command line, every kind at once: exit 1, one line per file, no traceback."""
    r = subprocess.run([sys.executable, "-m", "faceattr", "predict",
                        *(str(bad_dir / b.name) for b in BAD), "--format", "csv"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    for b in BAD:
        assert f"skipped: {bad_dir / b.name}: " in r.stderr
    assert f"{len(BAD)} of {len(BAD)} inputs failed" in r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == len(BAD) and all(row["error"] for row in rows)


def test_one_bad_file_does_not_fail_the_good_ones(client):
    good, bad = EXAMPLE.read_bytes(), BAD[0]
    r = client.post("/v1/predict", files=[("files", ("good.jpg", good, "image/jpeg")),
                                          ("files", (bad.name, bad.data, "image/jpeg")),
                                          ("files", ("bomb.png", BAD[-1].data, "image/png"))])
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["status"] for x in res] == [200, 415, 413]
    assert res[0]["faces"] and res[1]["faces"] == [] and bad.message in res[1]["error"]


def test_arrays_and_pil_images_are_checked_too(rec):
    for image, msg in [(np.zeros((0, 0, 3), np.uint8), "0x0 pixels is too small"),
                       (np.zeros((1, 1, 3), np.uint8), "1x1 pixels is too small"),
                       (np.zeros((40, 40, 5), np.uint8), "expected an HxWx3"),
                       (Image.new("RGB", (2, 2)), "too small"),
                       ("no/such/file.jpg", "no such file"),
                       (12345, "cannot read an image from a int")]:
        with pytest.raises(FaceAttrError, match=msg):
            rec.predict(image)


def test_sixteen_bit_grey_is_not_washed_out(tmp_path, rec):
    grey = np.asarray(Image.open(EXAMPLE).convert("L"))
    deep = tmp_path / "deep.png"
    Image.fromarray(grey.astype(np.uint16) * 257).save(deep)
    assert Image.open(deep).mode.startswith("I")
    flat = tmp_path / "flat.png"
    Image.fromarray(grey).save(flat)
    a = Recognizer(detect=False)
    assert a.frame(deep).mean() == pytest.approx(a.frame(flat).mean(), abs=0.5)
    pa, pb = a.predict(deep).probabilities, a.predict(flat).probabilities
    assert max(abs(pa[k] - pb[k]) for k in pa) < 0.02


# ---- the same answer on every surface ------------------------------------------------------

def test_cli_api_and_service_agree(client, capsys):
    api = Recognizer().predict(EXAMPLE).probabilities
    assert main(["predict", str(EXAMPLE), "--format", "jsonl"]) == 0
    cli = json.loads(capsys.readouterr().out)["probabilities"]
    r = client.post("/v1/predict", files=[("files", ("face.jpg", EXAMPLE.read_bytes(), "i/j"))])
    web = r.json()["results"][0]["faces"][0]["probabilities"]
    # every surface writes the one record: probabilities to 5 decimals
    assert cli == web and api == pytest.approx(cli, abs=5e-6)


def test_multi_face_output_carries_index_and_box_left_to_right(tmp_path, capsys):
    from .compose import compose
    from .conftest import TEST_CROPS

    picture, _ = compose([TEST_CROPS / "182641.jpg", TEST_CROPS / "182638.jpg"], [0, 0],
                         [1.2, 0.8], canvas=(800, 400))
    path = tmp_path / "pair.jpg"
    picture.save(path)
    assert main(["predict", str(path), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["face"] for r in rows] == ["0", "1"]
    assert float(rows[0]["box_left"]) < float(rows[1]["box_left"])
    assert main(["predict", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith(f"{path} face 0 (") and table[1].startswith(f"{path} face 1 (")


def test_annotation_labels_do_not_overlap():
    placed = [(0, 100, 300, 114)]
    for r in [(50, 100, 400, 114), (10, 100, 60, 114), (500, 100, 600, 114)]:
        spot = free_spot(r, placed)
        assert all(not (spot[0] < q[2] and q[0] < spot[2] and spot[1] < q[3] and q[1] < spot[3])
                   for q in placed)
        placed.append(spot)
    assert placed[1] == (50, 114, 400, 128)  # moved down one line
    assert placed[-1] == (500, 100, 600, 114)  # nothing in its way: left where it was


def test_evaluate_shows_progress(test_crops_small, capsys):
    assert main(["evaluate", "--images", str(test_crops_small), "--labels",
                 str(CELEBA_ATTR)]) == 0
    assert "img" in capsys.readouterr().err


# ---- the service's own inputs --------------------------------------------------------------

def test_service_thresholds_names_and_validation(client):
    data = EXAMPLE.read_bytes()
    r = client.post("/v1/predict?threshold=0.3", files=[("files", ("a.jpg", data, "i/j"))])
    assert r.status_code == 200 and r.json()["threshold"] == "0.3"
    probs = r.json()["results"][0]["faces"][0]
    assert all(probs["decisions"][a] == (p >= 0.3) for a, p in probs["probabilities"].items())
    for bad in ("2", "-1", "often", "0"):
        r = client.post(f"/v1/predict?threshold={bad}", files=[("files", ("a.jpg", data, "i/j"))])
        assert r.status_code == 422 and "threshold" in r.json()["detail"]
    r = client.post("/v1/predict", files=[("files", ("C:\\Users\\me\\photo.jpg", data, "i/j"))])
    assert r.json()["results"][0]["file"] == "photo.jpg"
    secret = b"SECRET-BYTES-" * 10
    r = client.post("/v1/predict", data={"files": secret.decode()})  # a form, not multipart
    assert r.status_code == 415 and b"SECRET" not in r.content
    r = client.post("/v1/predict", files=[("file", ("a.jpg", secret, "i/j"))])  # wrong name
    assert r.status_code == 422 and b"SECRET" not in r.content
    many = [("files", (f"{i}.jpg", data, "i/j")) for i in range(MAX_FILES + 1)]
    assert client.post("/v1/predict", files=many).status_code == 413


# ---- command-line options and training settings --------------------------------------------

@pytest.mark.parametrize("argv", [
    ["prepare", "--images", "x", "--labels", "y", "--out", "z", "--size", "0"],
    ["prepare", "--images", "x", "--labels", "y", "--out", "z", "--size", "-5"],
    ["prepare", "--images", "x", "--labels", "y", "--out", "z", "--workers", "0"],
    ["predict", "x.jpg", "--batch-size", "0"],
    ["predict", "x.jpg", "--batch-size", "many"],
    ["serve", "--port", "99999"],
    ["serve", "--workers", "0"],
    ["evaluate", "--images", "x"],
    ["frobnicate"],
])
def test_bad_options_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    line = one_line(capsys.readouterr().err)
    assert e.value.code == 2 and line.startswith("error: faceattr")


@pytest.mark.parametrize(("setting", "msg"), [
    ("train.lr=-1", "train.lr = -1: must be over 0"),
    ("train.batch_size=0", "train.batch_size = 0: must be at least 1"),
    ("train.epochs=0", "train.epochs = 0: must be at least 1"),
    ("data.val_fraction=0", "leaves nothing to validate on"),
    ("augment.flip=2", "augment.flip = 2: must be at most 1"),
    ("model.widths=[]", "model.widths"),
    ("train.nope=1", "unknown setting train.nope"),
])
def test_bad_training_settings_stop_before_any_work(setting, msg, tiny_cache, tmp_path,
                                                    capsys):
    argv = ["train", "--out", str(tmp_path / "run"), "--train", str(tiny_cache)]
    for s in [*TINY_TRAIN, setting]:
        argv += ["--set", s]
    assert main(argv) == 2
    assert msg in one_line(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_resume_keeps_the_runs_settings(tiny_cache, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "--quiet", "--out", str(run), "--train", str(tiny_cache)]
    for s in [*TINY_TRAIN, "train.epochs=1", "model.widths=[8,16,24]"]:
        argv += ["--set", s]
    assert main(argv) == 0
    saved = json.loads((run / "config.json").read_text())
    # resumed without repeating a setting: the run's own settings, not the defaults
    assert main(["train", "--quiet", "--resume", "--out", str(run)]) == 0
    assert json.loads((run / "config.json").read_text()) == saved
    assert not (run / "changes.txt").exists()
    # a deliberate change is applied and recorded
    assert main(["train", "--quiet", "--resume", "--out", str(run), "--set",
                 "train.epochs=2"]) == 0
    assert "train.epochs: 1 -> 2" in capsys.readouterr().err
    assert (run / "changes.txt").read_text() == "resumed with train.epochs: 1 -> 2\n"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["train"]["epochs"] == 2 and cfg["model"]["widths"] == [8, 16, 24]
    assert main(["train", "--resume", "--out", str(run), "--config", str(run / "x.toml")]) == 2
    assert "drop --config" in one_line(capsys.readouterr().err)


# ---- output files, pipes, processes ---------------------------------------------------------

def test_output_is_never_emptied_by_a_failing_run(tmp_path, monkeypatch, capsys):
    out = tmp_path / "results.csv"
    out.write_text("precious earlier results\n")  # not ours: refused, untouched
    assert main(["predict", str(EXAMPLE), "--format", "csv", "--output", str(out)]) == 2
    assert "not written by 'faceattr predict'" in one_line(capsys.readouterr().err)
    assert out.read_text() == "precious earlier results\n"
    out.unlink()
    assert main(["predict", str(EXAMPLE), "--format", "csv", "--output", str(out)]) == 0
    kept = out.read_text()
    from faceattr.outputs.resumable import ResultsFile

    def full_disk(self):
        if self.pending:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(ResultsFile, "flush", full_disk)
    other = tmp_path / "b.jpg"
    other.write_bytes(EXAMPLE.read_bytes())
    rc = main(["predict", str(EXAMPLE), str(other), "--format", "csv", "--output", str(out)])
    assert rc == 2 and out.read_text() == kept  # what was written stays
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    # the table format (not resumable) goes through OUT.partial, renamed at the end
    table = tmp_path / "t.txt"
    table.write_text("older table\n")
    from faceattr.outputs.table import Table

    monkeypatch.setattr(Table, "close", lambda *a, **k: (_ for _ in ()).throw(
        OSError(28, "No space left on device")))
    assert main(["predict", str(EXAMPLE), "--output", str(table)]) == 2
    assert table.read_text() == "older table\n"


def test_file_names_that_are_not_utf8(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    name = os.fsdecode(b"face-\xff.jpg")
    (folder / name).write_bytes(EXAMPLE.read_bytes())
    for fmt in ("csv", "jsonl", "table"):
        out = tmp_path / f"r.{fmt}"
        r = subprocess.run([sys.executable, "-m", "faceattr", "predict", str(folder),
                            "--format", fmt, "--output", str(out)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        text = out.read_text(encoding="utf-8")
        assert ("face-\\udcff.jpg" in text) or ("face-\\\\udcff.jpg" in text)


def test_broken_pipe_exits_quietly(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        (folder / f"{i:03d}.jpg").write_bytes(EXAMPLE.read_bytes())
    p = subprocess.Popen([sys.executable, "-m", "faceattr", "predict", str(folder), "--no-detect",
                          "--format", "csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()  # like `| head -1`
    err = p.stderr.read().decode()
    p.wait(timeout=300)
    assert "Traceback" not in err and "error" not in err.lower()
    assert p.returncode == 141  # 128 + SIGPIPE, as a shell pipeline's reader expects


@pytest.mark.slow
def test_killed_prepare_leaves_no_workers(tmp_path):
    # --detect: a few seconds of work even on the 320 fixture images of a bare clone
    proc = subprocess.Popen([sys.executable, "-m", "faceattr", "prepare", "--images",
                             str(ALIGNED), "--labels", str(CELEBA_ATTR), "--out",
                             str(tmp_path / "c"), "--workers", "2", "--quiet", "--force",
                             "--detect", "--framing", "celeba-aligned"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def children() -> list[int]:
        r = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        return [int(x) for x in r.stdout.split()]

    deadline = time.monotonic() + 120
    while len(children()) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "no workers started"
        time.sleep(0.2)
    workers = children()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [w for w in workers if Path(f"/proc/{w}").exists()
                 and "zombie" not in Path(f"/proc/{w}/status").read_text().lower()]
    assert not alive, f"workers {alive} outlived their parent"


def test_devices_pipes_and_folders_are_refused(tmp_path, capsys):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    for path, msg in [("/dev/zero", "not a regular file"), (str(fifo), "not a regular file")]:
        rc = main(["predict", path, "--format", "jsonl"])
        err = capsys.readouterr().err
        assert rc == 1 and f"skipped: {path}: {msg}" in err
    rc = main(["predict", str(EXAMPLE), "--output", str(tmp_path)])
    assert rc == 2 and "is a folder" in one_line(capsys.readouterr().err)


def test_bad_model_files_are_one_line(tmp_path, capsys):
    cases = {"text.safetensors": b"hello", "noise.safetensors": os.urandom(4096),
             "model.json": b'{"format": "faceattr-model/1"}'}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        rc = main(["predict", str(EXAMPLE), "--model", str(tmp_path / name)])
        line = one_line(capsys.readouterr().err)
        assert rc == 2 and str(tmp_path / name) in line and "faceattr model" in line
    (tmp_path / "x.onnx").write_bytes(b"not onnx")
    rc = main(["predict", str(EXAMPLE), "--backend", "onnx", "--model", str(tmp_path / "x.onnx")])
    assert rc == 2 and "not an ONNX model" in one_line(capsys.readouterr().err)
    rc = main(["predict", str(EXAMPLE), "--model", "nonesuch"])
    assert rc == 2 and "nonesuch" in one_line(capsys.readouterr().err)
