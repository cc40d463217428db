"""Two CPU processes (gloo) end with the same weights as one process with the same global batch.

For the comparison to be exact up to float rounding, the run must not depend on how a global
batch is split: GroupNorm instead of BatchNorm (no per-rank batch statistics), the plain mean
loss (the patent loss weighs tasks by the statistics of each rank's share), no augmentation or
dropout (their random draws differ per rank). Tolerance: 1e-4 absolute on every weight:
Adam divides each gradient by its running RMS, so float rounding in the all-reduce (about 1e-7)
can move a weight by up to a few 1e-5 over 6 steps at lr 2e-3, while training moves weights by
several 1e-3.
"""

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from .conftest import TINY_TRAIN

SETS = [*TINY_TRAIN, "model.norm=group", "loss.kind=mean", "model.dropout=0.0",
        "augment.flip=0", "augment.scale=0", "augment.shift=0", "augment.rotate=0",
        "augment.brightness=0", "augment.contrast=0", "augment.saturation=0", "augment.border=0",
        "data.limit=256", "data.val_fraction=0.25", "data.val=[]", "train.epochs=1",
        "train.threads=1"]

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def run(cmd: list[str], cache, out, batch: int) -> None:
    args = [*cmd, "faceattr", "train", "--quiet", "--out", str(out), "--train", str(cache)]
    for s in [*SETS, f"train.batch_size={batch}"]:
        args += ["--set", s]
    subprocess.run(args, check=True, timeout=300)


def test_two_gloo_processes_match_one_process(tiny_cache, tmp_path):
    run([sys.executable, "-m"], tiny_cache, tmp_path / "one", batch=32)
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m"], tiny_cache, tmp_path / "two", batch=16)
    a = load_file(str(tmp_path / "one" / "model.safetensors"))
    b = load_file(str(tmp_path / "two" / "model.safetensors"))
    assert a.keys() == b.keys()
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert worst <= 1e-4, worst
    # and the run really trained: weights moved away from their initial values
    torch.manual_seed(0)
    from faceattr.models import FaceAttrNet, ModelConfig
    from faceattr.models.modelfile import read_metadata

    init = FaceAttrNet(ModelConfig.from_dict(read_metadata(tmp_path / "one" /
                                                           "model.safetensors")["config"]))
    moved = max((init.state_dict()[k] - a[k]).abs().max().item() for k in a)
    assert moved > 1e-3 and moved > 50 * worst


def test_resume_works_distributed(tiny_cache, tmp_path):
    """A 2-process run stopped after epoch 1 resumes under torchrun and finishes epoch 2."""
    import csv

    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node=2", "-m"]
    out = tmp_path / "run"
    run(torchrun, tiny_cache, out, batch=16)  # epochs=1: a complete first leg
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1"]
    args = [*torchrun, "faceattr", "train", "--quiet", "--resume", "--out", str(out), "--train",
            str(tiny_cache)]
    for s in [*SETS, "train.batch_size=16", "train.epochs=2"]:
        args += ["--set", s]
    subprocess.run(args, check=True, timeout=300)
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert int(rows[1]["step"]) == 2 * int(rows[0]["step"])  # continued, not restarted
