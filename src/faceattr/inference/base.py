"""What every inference backend shares, and where bundled models live (no torch import here;
the backends themselves are chosen in :mod:`faceattr.inference.backends`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from faceattr.errors import FaceAttrError
from faceattr.inference.calibration import apply_temperatures
from faceattr.inference.scores import Scores, age_from_distribution, temper

# The models shipped inside the package, by name (``--model fast``); README, "Bundled models".
# Each ships twice: ``NAME.onnx`` (what inference runs, no torch needed) and ``NAME.safetensors``
# (what training resumes from and ``export`` converts; the torch backend).
WEIGHTS = "weights"
# the default: what a user labelling photos should get (benchmarks/default_model.py: better
# answers for about half again the whole command's time on small photos); fast by name
DEFAULT_MODEL = "accurate"
SUFFIX = {"onnx": ".onnx", "torch": ".safetensors"}


def bundled_models(backend: str = "onnx") -> dict[str, Path]:
    """Name -> file of every model shipped in the package, in the format ``backend`` runs."""
    folder = resources.files("faceattr").joinpath(WEIGHTS)
    return {Path(str(f)).stem: Path(str(f)) for f in folder.iterdir()
            if f.name.endswith(SUFFIX[backend])}


def is_bundled_name(model: str | Path | None) -> bool:
    """``None`` or a bundled model's name (that is not also a file here)."""
    return model is None or (not Path(model).exists() and str(model) in bundled_models())


def model_path(model: str | Path | None, backend: str = "onnx") -> Path:
    """The file for ``model``: a path, the name of a bundled model, or ``None`` (the default)."""
    if model is not None and not is_bundled_name(model):
        return Path(model)
    name = DEFAULT_MODEL if model is None else str(model)
    path = bundled_models(backend).get(name)
    if path is None:
        raise FaceAttrError(f"no bundled model {name!r} for the {backend} backend in this "
                            "install; pass --model PATH")
    return path


class EngineBase:
    """A model plus its metadata; turns uint8 face squares (N, S, S, 3) into probabilities."""

    path: Path
    meta: dict[str, Any]

    def _init_meta(self) -> None:
        self.attributes: list[str] = list(self.meta["attributes"])
        self.input_size: int = int(self.meta["input_size"])
        norm = self.meta.get("normalisation", {"mean": 0.5, "std": 0.5})
        self.mean, self.std = float(norm["mean"]), float(norm["std"])
        self.tuned = np.asarray(self.meta.get("thresholds", [0.5] * len(self.attributes)))
        temps = self.meta.get("temperatures")
        self.temperatures = None if temps is None else np.asarray(temps, np.float64)
        self.age_sd_scale = float(self.meta.get("age", {}).get("sd_scale", 1.0))
        expression = self.meta.get("expression", {})
        self.expressions: list[str] = list(expression.get("classes", []))
        self.expression_temperature = float(expression.get("temperature", 1.0))

    @property
    def has_age(self) -> bool:
        return "age" in self.meta

    @property
    def has_expression(self) -> bool:
        return bool(self.expressions)

    def thresholds(self, mode: str | float = "tuned", name: str = "threshold") -> np.ndarray:
        """Per-attribute thresholds: ``"tuned"`` (stored), ``"0.5"`` or any number in (0, 1).
        The one place thresholds are read; ``name`` is how the caller calls the setting
        (``--threshold`` on the command line, ``threshold`` in Python and HTTP)."""
        if mode == "tuned":
            return self.tuned
        try:
            t = float(mode)
        except ValueError:
            raise FaceAttrError(f"{name} {mode!r}: use 0.5, tuned or a number") from None
        if not 0.0 < t < 1.0:
            raise FaceAttrError(f"{name} {t}: must lie strictly between 0 and 1")
        return np.full(len(self.attributes), t)

    def probabilities(self, faces: np.ndarray, batch_size: int = 64,
                      mirror: bool = False, calibrated: bool = True) -> np.ndarray:
        """P(present) for each face and attribute, shape (N, T), with the model's temperatures
        applied (``calibrated=False``: as the network gives them)."""
        return self.scores(faces, batch_size, mirror, calibrated).attributes

    def scores(self, faces: np.ndarray, batch_size: int = 64, mirror: bool = False,
               calibrated: bool = True) -> Scores:
        """Everything the model says about uint8 face squares (N, S, S, 3): attribute
        probabilities, and age (years, calibrated SD) and expression probabilities when it has
        those tasks (``calibrated=False``: no temperatures, the raw SD)."""
        out = []
        for i in range(0, len(faces), batch_size):
            x = (faces[i:i + batch_size].astype(np.float32) / 255.0 - self.mean) / self.std
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
            raw = self._outputs(x)
            if mirror:
                flipped = self._outputs(np.ascontiguousarray(x[..., ::-1]))
                raw = {k: (v + flipped[k]) / 2 for k, v in raw.items()}
            p = apply_temperatures(raw["attributes"], self.temperatures if calibrated else None)
            age = sd = expr = None
            if "age" in raw:
                age, sd = age_from_distribution(raw["age"],
                                                self.age_sd_scale if calibrated else 1.0)
            if "expression" in raw:
                expr = temper(raw["expression"], self.expression_temperature
                              if calibrated else 1.0).astype(np.float32)
            out.append(Scores(p, age, sd, expr))
        return Scores.concat(out, len(self.attributes))

    def _outputs(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """For a normalised float32 batch (B, 3, S, S): ``attributes`` P(present) (B, A), and
        ``age`` P(age bin) (B, bins) and ``expression`` probabilities (B, E) if the model has
        those tasks."""
        raise NotImplementedError
