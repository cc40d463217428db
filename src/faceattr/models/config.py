"""The model configuration: everything needed to rebuild a network exactly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from faceattr.celeba import CELEBA_ATTRIBUTES, GROUPED_ORDER
from faceattr.errors import FaceAttrError


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
    act: str = "prelu"  # prelu | relu
    norm: str = "batch"  # batch | group
    sequence: str = "attention"  # attention | linear
    task_dim: int = 64  # d: size of each attribute-task feature
    head: str = "bilstm"  # bilstm | fc
    lstm_hidden: int = 64  # per direction
    dropout: float = 0.2
    order: str | list[str] = "grouped"

    @property
    def num_tasks(self) -> int:
        return len(self.attributes)

    def sequence_order(self) -> list[int]:
        """Indices into ``attributes`` in the order the LSTM scans them."""
        if self.order == "file":
            names = list(self.attributes)
        elif self.order == "grouped":
            if set(self.attributes) != set(GROUPED_ORDER):
                names = list(self.attributes)  # grouped order is defined for CelebA only
            else:
                names = list(GROUPED_ORDER)
        else:
            names = list(self.order)
            if sorted(names) != sorted(self.attributes):
                raise FaceAttrError("model order must list every attribute exactly once")
        pos = {a: i for i, a in enumerate(self.attributes)}
        return [pos[n] for n in names]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise FaceAttrError(f"unknown model settings: {', '.join(sorted(unknown))}")
        cfg = cls(**d)
        for name, allowed in [("act", ("prelu", "relu")), ("norm", ("batch", "group")),
                              ("sequence", ("attention", "linear")),
                              ("head", ("bilstm", "fc"))]:
            if getattr(cfg, name) not in allowed:
                raise FaceAttrError(f"model.{name} must be one of {allowed}")
        if len(cfg.widths) != len(cfg.depths):
            raise FaceAttrError("model.widths and model.depths must have the same length")
        cfg.sequence_order()  # validates order
        return cfg
