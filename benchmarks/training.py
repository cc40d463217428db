"""Training and evaluation throughput of the default model on this CPU, by thread count; and
the training steps in float32 against ``train.cpu_bf16`` (bfloat16 autocast, channels-last).

    python benchmarks/training.py [--bf16]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import rate
from faceattr.models import FaceAttrNet, ModelConfig
from faceattr.training.config import default_config, load_config
from faceattr.training.losses import build_loss
from faceattr.training.train import autocast

FAST = Path(__file__).parents[1] / "src/faceattr/configs/fast.toml"


def train_step_rate(mcfg: ModelConfig, loss_kind: str, x: torch.Tensor, y: torch.Tensor,
                    min_seconds: float = 6, bf16: bool = False) -> float:
    """Images/s of full training steps (forward, loss, backward, AdamW) on batch ``x``."""
    return _rates(mcfg, loss_kind, x, y, min_seconds, evaluate=False, bf16=bf16)[0]


def measure(mcfg: ModelConfig, loss_kind: str, x: torch.Tensor, y: torch.Tensor):
    """(training, evaluation) images/s of a fresh default model on batch ``x``."""
    return _rates(mcfg, loss_kind, x, y, 6, evaluate=True)


def _rates(mcfg: ModelConfig, loss_kind: str, x: torch.Tensor, y: torch.Tensor,
           min_seconds: float, evaluate: bool, bf16: bool = False) -> tuple[float, float]:
    torch.manual_seed(0)
    model = FaceAttrNet(mcfg)
    if bf16:  # as train.cpu_bf16 does
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    loss_fn = build_loss(loss_kind, mcfg.num_tasks)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> int:
        with autocast(torch.device("cpu"), False, bf16):
            out = model(x)
        loss, _ = loss_fn(out.float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return len(x)

    train_rate = rate(step, min_seconds=min_seconds)
    if not evaluate:
        return train_rate, 0.0
    model.eval()

    @torch.inference_mode()
    def infer() -> int:
        model(x)
        return len(x)

    return train_rate, rate(infer, min_seconds=4)


def bf16_rows() -> None:
    """Training steps at batch 128 on all cores, float32 against train.cpu_bf16."""
    torch.set_num_threads(os.cpu_count() or 1)
    for name, cfg in (("default", default_config()), ("fast", load_config(FAST, []))):
        mcfg = ModelConfig.from_dict(cfg["model"])
        x = torch.randn(128, 3, mcfg.input_size, mcfg.input_size)
        y = torch.randint(0, 2, (128, mcfg.num_tasks))
        r32, r16 = (train_step_rate(mcfg, cfg["loss"]["kind"], x, y, bf16=b) for b in (False, True))
        print(f"{name:8s} float32 {r32:5.0f} images/s, cpu_bf16 {r16:5.0f} images/s "
              f"({r16 / r32:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bf16", action="store_true", help="float32 against train.cpu_bf16 only")
    if ap.parse_args().bf16:
        return bf16_rows()
    cfg = default_config()
    mcfg = ModelConfig.from_dict(cfg["model"])
    bs = cfg["train"]["batch_size"]
    x = torch.randn(bs, 3, mcfg.input_size, mcfg.input_size)
    y = torch.randint(0, 2, (bs, mcfg.num_tasks))
    print(f"default model, batch {bs}, {os.cpu_count()} CPU cores, torch {torch.__version__}")
    for threads in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        train_rate, eval_rate = measure(mcfg, cfg["loss"]["kind"], x, y)
        print(f"threads={threads}: training {train_rate:6.0f} images/s, "
              f"evaluation {eval_rate:6.0f} images/s")


if __name__ == "__main__":
    main()
