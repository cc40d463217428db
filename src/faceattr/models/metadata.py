"""A model file's metadata as one typed record, written by training, ``make_ensemble`` and
``calibrate_model`` alike (:func:`faceattr.evaluation.calibration.fit_calibration` fits its
val-split part in one place)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from faceattr.errors import FaceAttrError


@dataclass
class ModelMeta:
    """What a model file says besides its architecture (``config``) and weights.

    ``thresholds`` (tuned on the val split, on the temperature-scaled probabilities),
    ``temperatures`` (one per attribute), ``grey_unreliable`` (attributes that lose more than
    5 points on the val faces turned grey), ``age`` (``bins``, ``sd_scale``) and ``expression``
    (``classes``, ``temperature``) for models with those tasks.
    """

    attributes: list[str]
    input_size: int
    framing: dict[str, Any]
    normalisation: dict[str, float] = field(default_factory=lambda: {"mean": 0.5, "std": 0.5})
    thresholds: list[float] | None = None
    temperatures: list[float] | None = None
    train_prevalence: list[float] | None = None
    grey_unreliable: list[str] = field(default_factory=list)
    age: dict[str, Any] | None = None
    expression: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None
    ensemble: dict[str, Any] | None = None
    bundled_from: str | None = None
    exported_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of the model file (without its ``format`` and ``config``); unset parts
        are left out."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelMeta:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - {"format", "config"})
        if unknown:
            raise FaceAttrError(f"unknown model metadata: {', '.join(unknown)}")
        return cls(**{k: v for k, v in d.items() if k in known})

    def with_calibration(self, fitted: dict[str, Any]) -> ModelMeta:
        """This record with the parts :func:`fit_calibration` fitted."""
        out = ModelMeta(**asdict(self))
        for k, v in fitted.items():
            setattr(out, k, v)
        return out
