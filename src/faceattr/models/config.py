"""The model configuration: everything needed to rebuild a network exactly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from faceattr.celeba import CELEBA_ATTRIBUTES, GROUPED_ORDER
from faceattr.errors import FaceAttrError

# The choices of the architecture's string settings (checked here and by the config file's
# typed settings, training/settings.py).
CHOICES: dict[str, tuple[str, ...]] = {
    "act": ("prelu", "relu"), "norm": ("batch", "group"), "sequence": ("attention", "linear"),
    "head": ("bilstm", "fc"), "extra_input": ("scan", "pooled")}
AGE_BINS = 101  # ages 0..100: the age head's bins when the training data has ages


@dataclass
class ModelConfig:
    """Architecture of :class:`~faceattr.models.FaceAttrNet`.

    ``order`` is the order in which the BiLSTM scans the attributes: ``"file"`` (as listed in
    ``attributes``), ``"grouped"`` (related attributes next to each other, CelebA only) or an
    explicit list of names. The outputs are always in ``attributes`` order.
    """

    attributes: list[str] = field(default_factory=lambda: list(CELEBA_ATTRIBUTES))
    input_size: int = 64
    widths: list[int] = field(default_factory=lambda: [32, 64, 128, 256])
    depths: list[int] = field(default_factory=lambda: [1, 1, 2, 1])
    stem_stride: int = 2  # 1: the first stage runs at the input's full resolution
    center_crop: int = 0  # N > 0: the network reads only the central N x N pixels of its input
    act: str = "prelu"  # prelu | relu
    norm: str = "batch"  # batch | group
    sequence: str = "attention"  # attention | linear
    task_dim: int = 64  # d: size of each attribute-task feature
    head: str = "bilstm"  # bilstm | fc
    lstm_hidden: int = 64  # per direction
    dropout: float = 0.2
    order: str | list[str] = "grouped"
    # Age and expression: two more task steps in the sequence the BiLSTM reads. ``age_bins``:
    # the age head gives P(age = 0, 1, ..., age_bins - 1 years) (0: no age task);
    # ``expressions``: the classes of the expression head ([]: no expression task).
    age_bins: int = 0
    expressions: list[str] = field(default_factory=list)
    extra_hidden: int = 128  # hidden width of the age and expression heads
    # what the age and expression heads read: "scan" (the BiLSTM's output at their step, with
    # the step's pooled features) or "pooled" (the pooled features alone: separate heads on the
    # shared CNN, the ablation)
    extra_input: str = "scan"

    @property
    def num_tasks(self) -> int:
        return len(self.attributes)

    @property
    def extra_tasks(self) -> list[str]:
        """The task steps after the attributes: ``"age"``, ``"expression"`` (those present)."""
        return (["age"] if self.age_bins else []) + (["expression"] if self.expressions else [])

    @property
    def task_names(self) -> list[str]:
        """Every step of the sequence: the attributes, then the extra tasks."""
        return list(self.attributes) + self.extra_tasks

    def sequence_order(self) -> list[int]:
        """Indices into :attr:`task_names` in the order the LSTM scans them. In the grouped
        order age follows ``Young`` and expression follows ``Smiling``."""
        tasks = self.task_names
        if self.order == "file":
            names = list(tasks)
        elif self.order == "grouped":
            if set(self.attributes) != set(GROUPED_ORDER):
                names = list(tasks)  # grouped order is defined for CelebA only
            else:
                names = []
                for a in GROUPED_ORDER:
                    names.append(a)
                    if a == "Young" and self.age_bins:
                        names.append("age")
                    if a == "Smiling" and self.expressions:
                        names.append("expression")
        else:
            names = list(self.order)
            if sorted(names) != sorted(tasks):
                raise FaceAttrError("model order must list every task exactly once")
        pos = {a: i for i, a in enumerate(tasks)}
        return [pos[n] for n in names]

    def to_dict(self) -> dict:
        d = asdict(self)
        if not d["center_crop"]:  # as before the setting existed: older readers load it
            del d["center_crop"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise FaceAttrError(f"unknown model settings: {', '.join(sorted(unknown))}")
        cfg = cls(**d)
        for name, allowed in CHOICES.items():
            if getattr(cfg, name) not in allowed:
                raise FaceAttrError(f"model.{name} must be one of {allowed}")
        if cfg.age_bins < 0 or cfg.age_bins == 1:
            raise FaceAttrError("model.age_bins must be 0 (no age task) or at least 2")
        if len(set(cfg.expressions)) != len(cfg.expressions) or len(cfg.expressions) == 1:
            raise FaceAttrError("model.expressions must name two or more distinct classes")
        if cfg.stem_stride not in (1, 2):
            raise FaceAttrError("model.stem_stride must be 1 or 2")
        if cfg.center_crop and not 8 <= cfg.center_crop <= cfg.input_size:
            raise FaceAttrError(f"model.center_crop must be 0 (none) or 8..{cfg.input_size} "
                                "(the input size)")
        if len(cfg.widths) != len(cfg.depths):
            raise FaceAttrError("model.widths and model.depths must have the same length")
        cfg.sequence_order()  # validates order
        return cfg
