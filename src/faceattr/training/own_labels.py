"""Fine-tuning on a user's own labels: ``faceattr train --init fast --images DIR --labels F.csv``.

The images are prepared into ``OUT/cache`` (each image's widest face detected and aligned, or
read as crops of ``--framing``), the network is the init model's architecture with the CSV's
attributes as its task steps, and a fixed share of the images is the val split. Nothing here
refers to the shared CelebA data or to ``cache/...``: the run needs only what it is given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from faceattr.errors import FaceAttrError

# The defaults of this path, before the user's --config and --set: a few epochs at a fine-tuning
# learning rate, small batches for small sets, a fifth of the images for validation.
DEFAULTS = {
    "data": {"val": [], "val_fraction": 0.2},
    "train": {"epochs": 3, "batch_size": 32, "lr": 1e-3, "warmup_steps": 20, "log_every": 5},
    "augment": {"grey": 0.0},
}
# the model settings an init model's architecture fixes
ARCHITECTURE = ("input_size", "widths", "depths", "act", "norm", "sequence", "task_dim", "head",
                "lstm_hidden", "dropout", "extra_hidden", "extra_input")


def init_model_file(init: str) -> Path:
    """The model file of ``--init``: a bundled model's safetensors, or a path."""
    from faceattr.inference.base import bundled_models

    path = Path(init)
    if path.is_file():
        return path
    bundled = bundled_models("torch")
    if init in bundled:
        return bundled[init]
    raise FaceAttrError(f"--init {init}: no such file, and no bundled model of that name "
                        f"(bundled: {', '.join(sorted(bundled))})")


def architecture(path: Path) -> dict[str, Any]:
    """The model settings of a model file (of an ensemble: its first member)."""
    from faceattr.models.modelfile import read_metadata

    config = read_metadata(path)["config"]
    if config.get("architecture") == "ensemble":
        config = config["members"][0]
    return {k: config[k] for k in ARCHITECTURE if k in config}


def fit_to_size(cfg: dict[str, Any], images: int, overrides: list[str]) -> None:
    """A small set still trains: the batch at most an eighth of the training images (8 at
    least) and the warm-up at most half of the steps, unless ``--set`` chose them."""
    chosen = {o.partition("=")[0].strip() for o in overrides}
    train = round(images * (1 - cfg["data"]["val_fraction"]))
    if "train.batch_size" not in chosen:
        cfg["train"]["batch_size"] = int(max(8, min(cfg["train"]["batch_size"], train // 8)))
    steps = cfg["train"]["epochs"] * max(1, train // cfg["train"]["batch_size"])
    if "train.warmup_steps" not in chosen:
        cfg["train"]["warmup_steps"] = int(min(cfg["train"]["warmup_steps"], steps // 2))


def own_labels_config(images: Path, labels: Path, out: Path, init: str | None,
                      framing: str | None, config: Path | None, overrides: list[str],
                      progress: bool = True, skip_missing: bool = False) -> dict[str, Any]:
    """Prepare ``OUT/cache`` from the images and labels and return the run's config."""
    from faceattr.data.cache import prepare
    from faceattr.data.dataset import DatasetSpec, resolve
    from faceattr.preprocess.detectors import DEFAULT_DETECTOR
    from faceattr.training.config import apply_overrides, load_config, merge, validate

    if (out / "last.ckpt").exists():
        raise FaceAttrError(f"{out} already holds a run; use --resume or another --out")
    cfg = merge(load_config(config), DEFAULTS, "fine-tuning defaults")
    if init is not None:
        path = init_model_file(init)
        cfg["model"].update(architecture(path))
        cfg["train"]["init"] = str(path.resolve())
    cfg = validate(apply_overrides(cfg, overrides))  # the user's --set last
    ds = resolve(DatasetSpec(images, labels, framing=framing or "crop",
                             skip_missing=skip_missing))
    if not ds.attributes:
        raise FaceAttrError(f"{labels}: no attribute columns (file,ATTR,...) to train on")
    from faceattr.data.labels import MISSING

    for j, a in enumerate(ds.attributes):
        known = ds.labels[:, j][ds.labels[:, j] != MISSING]
        if len(known) and known.min() == known.max():
            print(f"note: {labels}: every label of {a!r} is {int(known[0])}; the model can only "
                  "learn to say that", file=sys.stderr)
    cache = out / "cache"
    summary = prepare(ds, cache, size=int(cfg["model"]["input_size"]),
                      detector=None if framing else DEFAULT_DETECTOR, progress=progress)
    print(summary.line(cache))
    for failure in summary.failures[:5]:
        print(f"skipped: {failure}", file=sys.stderr)
    fit_to_size(cfg, summary.cached, overrides)
    cfg["data"]["train"] = [str(cache.resolve())]
    if init is not None and not cfg["train"]["init_tasks"]:
        cfg["train"]["init_tasks"] = closest_tasks(Path(cfg["train"]["init"]), cache)
        if cfg["train"]["init_tasks"]:
            print("new attributes start from the init model's closest: " + ", ".join(
                f"{a} <- {b}" for a, b in cfg["train"]["init_tasks"].items()))
    return json.loads(json.dumps(cfg))  # a plain copy, as a config file gives it


def closest_tasks(path: Path, cache_path: Path, limit: int = 2000) -> dict[str, str]:
    """For each attribute of the cache that the model file does not have, the model's attribute
    whose probabilities correlate best with its labels over the cached images (a user's
    "glasses" starts from Eyeglasses, "fringe" from Bangs; an attribute related to none
    starts from its best match all the same, which beats the mean of all)."""
    import numpy as np
    import torch

    from faceattr.data.cache import open_cache
    from faceattr.data.labels import MISSING
    from faceattr.training.loader import CacheBatches
    from faceattr.training.train import init_network

    cache = open_cache(cache_path)
    net = init_network(path)
    new = [j for j, a in enumerate(cache.attributes) if a not in net.config.task_names]
    if not new or not len(cache):
        return {}
    rows = np.arange(min(len(cache), limit))
    with torch.no_grad():
        p = np.concatenate([net.probabilities(net(x)).numpy()
                            for x, _ in CacheBatches([cache], rows, batch_size=128)])
    out: dict[str, str] = {}
    for j in new:
        y = cache.labels[rows, j]
        k = y != MISSING
        if k.sum() < 2 or y[k].min() == y[k].max():
            continue
        yk = (y[k] - y[k].mean()) / y[k].std()
        pk = p[k] - p[k].mean(0)
        r = (pk * yk[:, None]).mean(0) / np.maximum(pk.std(0), 1e-9)
        out[cache.attributes[j]] = str(net.config.attributes[int(np.argmax(r))])
    return out
