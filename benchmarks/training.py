"""Training and evaluation throughput of the default model on this CPU, by thread count.

    python benchmarks/training.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import rate
from faceattr.models import FaceAttrNet, ModelConfig
from faceattr.training.config import default_config
from faceattr.training.losses import build_loss


def train_step_rate(mcfg: ModelConfig, loss_kind: str, x: torch.Tensor, y: torch.Tensor,
                    min_seconds: float = 6) -> float:
    """Images/s of full training steps (forward, loss, backward, AdamW) on batch ``x``."""
    return _rates(mcfg, loss_kind, x, y, min_seconds, evaluate=False)[0]


def measure(mcfg: ModelConfig, loss_kind: str, x: torch.Tensor, y: torch.Tensor):
    """(training, evaluation) images/s of a fresh default model on batch ``x``."""
    return _rates(mcfg, loss_kind, x, y, 6, evaluate=True)


def _rates(mcfg: ModelConfig, loss_kind: str, x: torch.Tensor, y: torch.Tensor,
           min_seconds: float, evaluate: bool) -> tuple[float, float]:
    torch.manual_seed(0)
    model = FaceAttrNet(mcfg)
    loss_fn = build_loss(loss_kind, mcfg.num_tasks)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> int:
        loss, _ = loss_fn(model(x), y)
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


def main() -> None:
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
