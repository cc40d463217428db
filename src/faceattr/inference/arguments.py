"""Checks of the arguments the many-image calls take (``predict_batch``, ``iter_predict``,
``predict_video``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from faceattr.errors import FaceAttrError


def check_many(images: object, batch_size: int, workers: int | None) -> None:
    """The arguments of the many-image calls: a list of images (not one path, whose
    characters would be read as paths), a positive batch size, a positive or no worker count."""
    if isinstance(images, (str, Path, bytes, Image.Image, np.ndarray)):
        raise FaceAttrError(f"predict_batch takes a list of images, got one "
                            f"({type(images).__name__}); use predict() for one image, or "
                            "pass [image]")
    for name, value in (("batch_size", batch_size), ("workers", workers)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise FaceAttrError(f"{name} {value!r}: must be a whole number of at least 1")
