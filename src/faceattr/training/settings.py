"""The training settings as typed dataclasses, one per TOML section, each field with its bounds.

``faceattr train`` reads TOML (``configs/default.toml`` documents every key) plus ``--set``
overrides into a plain dict (``training/config.py``), which is also what a run records
(``RUN/config.json``); :meth:`Settings.from_dict` checks every key, type and bound there, before
any data is read, and gives the loop typed access (``s.train.epochs``).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from faceattr.errors import FaceAttrError
from faceattr.models.config import AGE_BINS, CHOICES, ModelConfig


def setting(default: Any, *, lo: float | None = None, hi: float | None = None,
            above: float | None = None, below: float | None = None,
            choices: tuple[str, ...] | None = None) -> Any:
    """A field with its bounds: at least ``lo``, at most ``hi``, over ``above``, under
    ``below``, or one of ``choices``."""
    meta = {"lo": lo, "hi": hi, "above": above, "below": below, "choices": choices}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataSettings:
    train: list[str] = setting(["cache/celeba-aligned", "cache/celebahq", "cache/crop108-train",
                                "cache/square160-train"])
    val: list[str] = setting(["cache/crop108-val", "cache/square160-val"])
    val_fraction: float = setting(0.05, lo=0, below=1)
    val_limit: int = setting(0, lo=0)
    limit: int = setting(0, lo=0)
    soft: str = setting("")  # distillation: the name of the soft targets beside each train cache


_M = ModelConfig()  # the architecture's defaults are defined once, in models/config.py


@dataclass
class ModelSettings:
    """:class:`~faceattr.models.config.ModelConfig` as the config file sets it: its fields
    and defaults, with bounds (the attributes and expressions come from the data)."""

    input_size: int = setting(_M.input_size, lo=16)
    widths: list[int] = setting(_M.widths)
    depths: list[int] = setting(_M.depths)
    stem_stride: int = setting(_M.stem_stride, lo=1, hi=2)
    center_crop: int = setting(_M.center_crop, lo=0)
    act: str = setting(_M.act, choices=CHOICES["act"])
    norm: str = setting(_M.norm, choices=CHOICES["norm"])
    sequence: str = setting(_M.sequence, choices=CHOICES["sequence"])
    task_dim: int = setting(_M.task_dim, lo=1)
    head: str = setting(_M.head, choices=CHOICES["head"])
    lstm_hidden: int = setting(_M.lstm_hidden, lo=1)
    dropout: float = setting(_M.dropout, lo=0, below=1)
    order: str | list[str] = setting(_M.order)
    age_bins: int = setting(AGE_BINS, lo=2)  # with age data: P(age = 0..age_bins-1 years)
    extra_hidden: int = setting(_M.extra_hidden, lo=1)
    extra_input: str = setting(_M.extra_input, choices=CHOICES["extra_input"])


@dataclass
class LossSettings:
    kind: str = setting("patent", choices=("patent", "mean", "uncertainty"))
    ema: float = setting(0.0, lo=0, below=1)
    distill: float = setting(0.5, lo=0, hi=1)  # with data.soft: weight of the teacher's target
    extra_weight: float = setting(10.0, lo=0)  # age and expression each weigh as N attributes
    age_sigma: float = setting(2.0, above=0)  # years: spread of the age label distribution
    age_l1: float = setting(0.1, lo=0)  # weight of |expected age - age| (years) in the age loss


@dataclass
class TrainSettings:
    epochs: int = setting(12, lo=1)
    batch_size: int = setting(64, lo=1)
    lr: float = setting(2e-3, above=0)
    weight_decay: float = setting(5e-4, lo=0)
    warmup_steps: int = setting(200, lo=0)
    seed: int = setting(0, lo=0)
    threads: int = setting(0, lo=0)
    amp: bool = setting(True)
    # bfloat16 autocast and channels-last for the training steps on the CPU (about 2x for the
    # wider networks on CPUs with AMX; validation and the model written stay float32)
    cpu_bf16: bool = setting(False)
    log_every: int = setting(20, lo=1)
    ema_decay: float = setting(0.0, lo=0, below=1)
    max_minutes: float = setting(0, lo=0)
    init: str = setting("")  # start from this model file's weights (fine-tuning; new tasks new)
    # re-estimate the BatchNorm statistics over this many full-framed training faces (those with
    # attribute labels) before each validation and for the model written (0: keep the running
    # statistics); mixed training wants it: its batches mix bordered and grey faces in
    precise_bn: int = setting(0, lo=0)
    freeze: str = setting("", choices=("", "backbone"))  # backbone: train only what follows it
    # with init: the file's task each task of another name starts from ({"glasses":
    # "Eyeglasses"}); own_labels.py chooses it by correlation on the training images
    init_tasks: dict[str, str] = setting({})


@dataclass
class AugmentSettings:
    flip: float = setting(0.5, lo=0, hi=1)
    scale: float = setting(0.08, lo=0, below=1)
    shift: float = setting(0.06, lo=0, below=1)
    rotate: float = setting(8.0, lo=0, hi=180)
    brightness: float = setting(0.25, lo=0)
    contrast: float = setting(0.25, lo=0)
    saturation: float = setting(0.25, lo=0)
    border: float = setting(0.3, lo=0, hi=1)
    grey: float = setting(0.0, lo=0, hi=1)


SECTIONS = {"data": DataSettings, "model": ModelSettings, "loss": LossSettings,
            "train": TrainSettings, "augment": AugmentSettings}


@dataclass
class Settings:
    data: DataSettings = field(default_factory=DataSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    loss: LossSettings = field(default_factory=LossSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)

    @classmethod
    def from_dict(cls, cfg: dict[str, dict[str, Any]]) -> Settings:
        """Typed settings from a config dict; every key, type and bound checked, the first
        problem named in one line."""
        sections = {}
        for name, kind in SECTIONS.items():
            values = cfg.get(name, {})
            known = {f.name: f for f in fields(kind)}
            for key in values:
                if key not in known:
                    raise FaceAttrError(f"unknown setting {name}.{key}")
            for key, f in known.items():
                if key in values:
                    _check(f"{name}.{key}", f, values[key])
            sections[name] = kind(**values)
        s = cls(**sections)
        s._check_together()
        return s

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return asdict(self)

    def _check_together(self) -> None:
        for key in ("widths", "depths"):
            v = getattr(self.model, key)
            if not v or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1
                                for x in v):
                raise FaceAttrError(f"model.{key} = {v}: must be a non-empty list of positive "
                                    "integers")
        if not self.data.train:
            raise FaceAttrError("data.train is empty: name at least one cache (--train CACHE)")
        if not self.data.val and self.data.val_fraction <= 0:
            raise FaceAttrError("data.val_fraction = 0 with no data.val caches leaves nothing "
                                "to validate on: set data.val (the official val split) or a "
                                "fraction over 0")


def _default(f) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


def _check(key: str, f, value: Any) -> None:
    """The value's type (an int may stand for a float; the scan order may be a name or a list)
    and its bounds."""
    default = _default(f)
    is_bool = isinstance(value, bool)
    same = isinstance(value, type(default)) and (is_bool == isinstance(default, bool))
    widened = isinstance(default, float) and isinstance(value, int) and not is_bool
    if not (same or widened or (key == "model.order" and isinstance(value, (str, list)))):
        raise FaceAttrError(f"{key} expects a {type(default).__name__}, got {value!r}")
    m = f.metadata
    if m.get("choices") and value not in m["choices"]:
        raise FaceAttrError(f"{key} = {value!r}: use one of {', '.join(m['choices'])}")
    if isinstance(value, float) and not math.isfinite(value):
        raise FaceAttrError(f"{key} = {value}: must be a finite number")
    if isinstance(value, (int, float)) and not is_bool:
        if m.get("lo") is not None and value < m["lo"]:
            raise FaceAttrError(f"{key} = {value}: must be at least {m['lo']}")
        if m.get("hi") is not None and value > m["hi"]:
            raise FaceAttrError(f"{key} = {value}: must be at most {m['hi']}")
        if m.get("above") is not None and value <= m["above"]:
            raise FaceAttrError(f"{key} = {value}: must be over {m['above']}")
        if m.get("below") is not None and value >= m["below"]:
            raise FaceAttrError(f"{key} = {value}: must be below {m['below']}")
