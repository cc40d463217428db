import csv
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from faceattr.errors import FaceAttrError
from faceattr.models import FaceAttrNet, ModelConfig
from faceattr.models.modelfile import load_model, read_metadata, save_model
from faceattr.training.config import load_config

from .conftest import CELEBA_ATTR, TINY_TRAIN


def test_config_overrides_and_errors(tmp_path):
    cfg = load_config(None, ["train.epochs=3", "model.head=fc", "model.widths=[8,16]"])
    assert cfg["train"]["epochs"] == 3 and cfg["model"]["head"] == "fc"
    assert cfg["model"]["widths"] == [8, 16]
    with pytest.raises(FaceAttrError, match="unknown setting train.epoch"):
        load_config(None, ["train.epoch=3"])
    with pytest.raises(FaceAttrError, match="expected section.key=value"):
        load_config(None, ["epochs"])
    with pytest.raises(FaceAttrError, match="train.epochs expects an int, got 'many'"):
        load_config(None, ["train.epochs=many"])
    assert load_config(None, ["train.lr=1"])["train"]["lr"] == 1
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(FaceAttrError, match="binary.toml: invalid TOML"):
        load_config(binary)
    bad = tmp_path / "c.toml"
    bad.write_text("[train\n")
    with pytest.raises(FaceAttrError, match="invalid TOML"):
        load_config(bad)


def test_model_file_round_trip(tmp_path):
    cfg = ModelConfig(widths=[8, 16], depths=[1, 1], task_dim=8, lstm_hidden=8, input_size=32)
    m = FaceAttrNet(cfg).eval()
    save_model(m, tmp_path / "m.safetensors", {"attributes": cfg.attributes, "input_size": 32})
    m2, meta = load_model(tmp_path / "m.safetensors")
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(m(x), m2(x))
    assert meta["config"]["widths"] == [8, 16] and meta["input_size"] == 32


def test_foreign_and_corrupt_model_files(tmp_path):
    with pytest.raises(FaceAttrError, match="model file not found"):
        read_metadata(tmp_path / "none.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(os.urandom(300))
    with pytest.raises(FaceAttrError, match="not a faceattr model file"):
        load_model(junk)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(FaceAttrError, match="without faceattr metadata"):
        load_model(foreign)
    pickle_file = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, pickle_file)
    with pytest.raises(FaceAttrError, match="not a faceattr model file"):
        load_model(pickle_file)
    # our metadata, but weights of another shape
    cfg = ModelConfig(widths=[8, 16], depths=[1, 1], task_dim=8, lstm_hidden=8)
    good = tmp_path / "good.safetensors"
    save_model(FaceAttrNet(cfg), good, {})
    tensors = load_file(str(good))
    tensors["backbone.stem.0.0.weight"] = torch.zeros(1)
    meta = read_metadata(good)
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata={"faceattr": json.dumps(meta)})
    with pytest.raises(FaceAttrError, match="weights do not match"):
        load_model(tmp_path / "bad.safetensors")


def test_tiny_training_writes_everything(tiny_model):
    run = tiny_model.parent
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    meta = read_metadata(tiny_model)
    assert len(meta["thresholds"]) == 40 and all(0 < t < 1 for t in meta["thresholds"])
    assert meta["training"]["images"] == 256 and meta["training"]["val_images"] == 64
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 2
    assert (run / "last.ckpt").exists() and (run / "best.ckpt").exists()


def test_refuses_to_overwrite_a_run(tiny_model, tiny_cache):
    from faceattr.training.train import train

    cfg = load_config(None, [*TINY_TRAIN, f'data.train=["{tiny_cache}"]'])
    with pytest.raises(FaceAttrError, match="already holds a run"):
        train(cfg, tiny_model.parent, progress=False)


def _train_cmd(cache, out, *extra):
    sets = [*TINY_TRAIN, "train.epochs=3", "model.widths=[16,32,32]", "train.batch_size=8"]
    args = [sys.executable, "-m", "faceattr", "train", "--out", str(out), "--train", str(cache)]
    for s in sets:
        args += ["--set", s]
    return args + list(extra)


@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted_run(tiny_cache, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    full = tmp_path / "full"
    subprocess.run(_train_cmd(tiny_cache, full, "--quiet"), check=True, env=env)
    part = tmp_path / "part"
    proc = subprocess.Popen(_train_cmd(tiny_cache, part), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    # wait until epoch 2's progress bar shows a finished batch, then kill the process there
    seen = ""
    while "epoch 1:" not in seen or not re.search(r"epoch 2/3:[^\r\n]*\| [1-9]\d*/32", seen):
        ch = proc.stdout.read(1)
        assert ch, "training ended before it could be killed"
        seen += ch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows = list(csv.DictReader((part / "log.csv").open()))
    assert len(rows) == 1, "the run was not killed mid-training"
    assert not (part / "model.safetensors").exists()
    subprocess.run(_train_cmd(tiny_cache, part, "--resume", "--quiet"), check=True, env=env)
    a, b = load_file(str(full / "model.safetensors")), load_file(str(part / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    log_full = [r["train_loss"] for r in csv.DictReader((full / "log.csv").open())]
    log_part = [r["train_loss"] for r in csv.DictReader((part / "log.csv").open())]
    assert log_full == log_part


def test_evaluate_end_to_end(tiny_model, test_crops_small, capsys):
    from faceattr.cli import main

    out = tiny_model.parent / "eval.json"
    chart = tiny_model.parent / "eval.png"
    rc = main(["evaluate", "--model", str(tiny_model), "--images", str(test_crops_small),
               "--labels", str(CELEBA_ATTR), "--json", str(out), "--chart", str(chart),
               "--mirror"])
    assert rc == 0
    r = json.loads(out.read_text())
    assert r["images"] == len(list(test_crops_small.glob("*.jpg")))
    assert len(r["per_attribute"]) == 40
    for key in ("mean_accuracy", "balanced_accuracy", "majority_baseline"):
        assert 0.0 <= r[key] <= 1.0
    assert set(r["consistency"]) == {"predicted", "ground_truth"}
    truth_rate = r["consistency"]["ground_truth"]["any"]
    assert 0.0 <= truth_rate < 0.2  # real labels rarely break the rules
    assert chart.stat().st_size > 1000
    assert "mean accuracy" in capsys.readouterr().out
    assert np.isfinite(r["per_attribute"]["Smiling"]["f1"])


@pytest.mark.shared
def test_selection_and_thresholds_on_the_official_val_split(tiny_cache, tmp_path):
    """With ``data.val``, every training row trains and the val caches alone pick the epoch and
    the thresholds; the logged val accuracy is the saved model's accuracy on those caches."""
    from faceattr.data.cache import open_cache, prepare
    from faceattr.data.dataset import DatasetSpec, resolve
    from faceattr.evaluation.metrics import summary
    from faceattr.training.loader import CacheBatches
    from faceattr.training.train import predict_probs, train

    from .conftest import DATA

    lines = CELEBA_ATTR.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("162771.jpg"))
    labels = tmp_path / "val_labels.txt"
    labels.write_text("\n".join(["64", lines[1], *lines[first:first + 64]]) + "\n")
    val_tar = DATA / "celeba" / "aligned-crop108-64" / "val-00.tar"
    ds = resolve(DatasetSpec(val_tar, labels, framing="celeba-crop108", skip_missing=True))
    assert len(ds) == 64 and ds.files[0] == "162771.webp"
    prepare(ds, tmp_path / "val", size=32, workers=1, progress=False)
    cfg = load_config(None, [*TINY_TRAIN, "train.epochs=2", f'data.train=["{tiny_cache}"]',
                             f'data.val=["{tmp_path / "val"}"]'])
    train(cfg, tmp_path / "run", progress=False)
    meta = read_metadata(tmp_path / "run" / "model.safetensors")
    assert meta["training"]["images"] == 320 and meta["training"]["val_images"] == 64
    assert meta["training"]["val_caches"] == [str(tmp_path / "val")]
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    best = max(float(r["val_mean_accuracy"]) for r in rows)
    assert meta["metrics"]["val_mean_accuracy"] == pytest.approx(best, abs=1e-5)  # log: 5 digits
    model, _ = load_model(tmp_path / "run" / "model.safetensors")
    probs, truth, _ = predict_probs(model, CacheBatches([open_cache(tmp_path / "val")]),
                                    torch.device("cpu"), False)
    accuracy = summary((probs >= 0.5).astype(np.uint8), truth)[0]
    assert accuracy == pytest.approx(meta["metrics"]["val_mean_accuracy"], abs=1e-6)


def test_time_limit_stops_inside_an_epoch_and_resume_finishes(tiny_cache, tmp_path,
                                                             monkeypatch, capsys):
    """--time-limit: the run stops with a checkpoint (here in epoch 2, after batch 3, the clock
    faked) and says where it stands; --resume continues from the next batch and writes the
    model, with every epoch in the log."""
    import faceattr.training.train as training
    from faceattr.cli import main

    calls = {"n": 0}

    def fake_clock(deadline, world, step):
        calls["n"] += 1
        return calls["n"] > 32 + 3  # epoch 1 has 32 batches of 8

    monkeypatch.setattr(training, "out_of_time", fake_clock)
    argv = _train_cmd(tiny_cache, tmp_path / "run", "--quiet")[3:]
    assert main([*argv, "--time-limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "stopped at the time limit, in epoch 2/3 after batch 3/32" in out
    assert "best epoch 1: val mean accuracy" in out and "--resume" in out
    assert (tmp_path / "run" / "last.ckpt").exists()
    assert not (tmp_path / "run" / "model.safetensors").exists()
    assert len(list(csv.DictReader((tmp_path / "run" / "log.csv").open()))) == 1
    monkeypatch.setattr(training, "out_of_time", lambda *a: False)
    # a resume onto another architecture: one line, the run left as it was
    assert main([*argv, "--resume", "--set", "model.task_dim=12"]) == 2
    assert "the run's model cannot change (model.task_dim" in capsys.readouterr().err
    config = tmp_path / "run" / "config.json"
    saved = config.read_text()
    config.write_text(saved.replace('"task_dim": ', '"task_dim": 1'))  # edited by hand
    assert main(["train", "--out", str(tmp_path / "run"), "--resume"]) == 2
    assert "written by another model than the run's settings" in capsys.readouterr().err
    config.write_text(saved)
    assert main([*argv, "--resume", "--time-limit", "5"]) == 0
    assert "trained 3 epochs" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert int(rows[-1]["step"]) == 3 * 32  # no batch done twice, none left out
    assert (tmp_path / "run" / "model.safetensors").exists()
    with pytest.raises(SystemExit) as e:  # argparse: must be over 0
        main([*argv, "--time-limit", "0"])
    assert e.value.code == 2 and "must be a number over 0" in capsys.readouterr().err


def test_typed_settings_match_the_documented_defaults_and_check_bounds():
    """default.toml (the documented defaults) and the dataclasses agree; every bound is checked
    where the setting is read, and named."""
    from faceattr.training.config import default_config
    from faceattr.training.settings import Settings

    assert Settings.from_dict(default_config()).to_dict() == Settings().to_dict()
    assert Settings().to_dict() == default_config()
    s = Settings.from_dict(load_config(None, ["train.epochs=3", "augment.grey=0.5"]))
    assert s.train.epochs == 3 and s.augment.grey == 0.5 and s.model.head == "bilstm"
    for bad, msg in [("train.lr=0", "train.lr = 0: must be over 0"),
                     ("augment.grey=1.5", "augment.grey = 1.5: must be at most 1"),
                     ('model.head="gru"', "model.head = 'gru': use one of bilstm, fc"),
                     ("loss.ema=1", "loss.ema = 1: must be below 1")]:
        with pytest.raises(FaceAttrError, match=re.escape(msg)):
            load_config(None, [bad])


def test_distillation_trains_on_soft_targets(tiny_cache, tmp_path, capsys):
    """tools/soft_targets.py writes a teacher's probabilities beside a cache; data.soft trains on
    the mix of label and teacher; a missing name is one line before any step."""
    import shutil
    import subprocess

    from faceattr.data.cache import open_cache
    from faceattr.training.loader import CacheBatches
    from faceattr.training.train import train

    cache = tmp_path / "cache"
    shutil.copytree(tiny_cache, cache)
    teacher = tmp_path / "teacher"
    cfg = load_config(None, [*TINY_TRAIN, "train.epochs=1", f'data.train=["{cache}"]'])
    train(cfg, teacher, progress=False)
    tool = Path(__file__).resolve().parents[1] / "tools" / "soft_targets.py"
    subprocess.run([sys.executable, str(tool), str(teacher / "model.safetensors"), "--caches",
                    str(cache), "--name", "t1"], check=True, capture_output=True)
    q = np.load(cache / "soft" / "t1.npy")
    c = open_cache(cache)
    assert q.shape == c.labels.shape and q.min() >= 0 and q.max() <= 1
    batches = CacheBatches([c], batch_size=8, soft="t1", soft_weight=0.25)
    _, y = next(iter(batches))
    assert y.dtype == torch.float32
    expect = 0.75 * c.labels[:8] + 0.25 * q[:8].astype(np.float32)
    assert np.allclose(y.numpy(), expect, atol=1e-6)
    student = load_config(None, [*TINY_TRAIN, "train.epochs=1", f'data.train=["{cache}"]',
                                 'data.soft="t1"', "loss.distill=0.5"])
    result = train(student, tmp_path / "student", progress=False)
    assert Path(result["model"]).is_file()
    with pytest.raises(FaceAttrError, match="no soft targets at"):
        train(load_config(None, [*TINY_TRAIN, f'data.train=["{cache}"]', 'data.soft="nope"']),
              tmp_path / "other", progress=False)


def test_trained_model_metadata_is_the_one_record(tiny_model):
    """``faceattr train`` writes the typed record, calibration fitted in the one place: a
    trained model gets its grey-unreliable list too (a list, maybe empty) and the val ECE."""
    from faceattr.models.metadata import ModelMeta
    from faceattr.models.modelfile import read_metadata

    meta = read_metadata(tiny_model)
    record = ModelMeta.from_dict(meta)
    assert isinstance(meta["grey_unreliable"], list) and "calibration" in meta
    assert len(record.thresholds) == len(record.temperatures) == len(record.attributes) == 40
    assert {k: v for k, v in meta.items() if k not in ("format", "config")} == record.to_dict()
    with pytest.raises(FaceAttrError, match="unknown model metadata: colour"):
        ModelMeta.from_dict({**meta, "colour": 1})


def test_the_best_epoch_in_words_names_only_the_tasks_validated():
    from faceattr.training.train import best_epoch

    fer_only = {"epoch": 3, "val_mean_accuracy": "nan", "val_age_mae": "",
                "val_expression_accuracy": "0.80928", "val_score": "-0.5"}
    assert best_epoch({"best": 0.8, "history": [fer_only]}) == \
        "best epoch 3: expression accuracy 80.93%"
    joint = dict(fer_only, val_mean_accuracy="0.9", val_age_mae="5.25")
    assert best_epoch({"best": 0.8, "history": [joint]}) == \
        "best epoch 3: val mean accuracy 90.00%, age MAE 5.25 years, expression accuracy 80.93%"
