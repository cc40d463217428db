"""Fine-tuning on a user's own labels: ``faceattr train --init fast --images DIR --labels F.csv``.

The images are prepared into ``OUT/cache`` (each image's widest face detected and aligned, or
read as crops of ``--framing``), the network is the init model's architecture with the CSV's
attributes as its task steps, and a fixed share of the images is the val split. Nothing here
refers to the shared CelebA data or to ``cache/...``: the run needs only what it is given.
"""

from __future__ import annotations

import json
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


def own_labels_config(images: Path, labels: Path, out: Path, init: str | None,
                      framing: str | None, config: Path | None, overrides: list[str],
                      progress: bool = True) -> dict[str, Any]:
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
    ds = resolve(DatasetSpec(images, labels, framing=framing or "crop"))
    if not ds.attributes:
        raise FaceAttrError(f"{labels}: no attribute columns (file,ATTR,...) to train on")
    cache = out / "cache"
    summary = prepare(ds, cache, size=int(cfg["model"]["input_size"]),
                      detector=None if framing else DEFAULT_DETECTOR, progress=progress)
    print(summary.line(cache))
    cfg["data"]["train"] = [str(cache.resolve())]
    return json.loads(json.dumps(cfg))  # a plain copy, as a config file gives it
