"""The canonical face framing and how each source framing, face box or landmark set maps onto it.

Every image is turned into the same square crop of the face (the *canonical square*), whatever
its source: a dataset framing (configuration in ``framings.toml``), a face box from a detector,
or five facial landmarks (similarity transform onto :data:`CANONICAL_LANDMARKS`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from PIL import Image

from faceattr.errors import FaceAttrError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FRAMING = "crop"

# Mean CelebA landmarks (left eye, right eye, nose, left/right mouth corner) expressed in the
# canonical square, as fractions of its side. From the aligned frame: (x - 9) / 160, (y - 41) / 160.
CANONICAL_LANDMARKS = np.array(
    [[0.375, 0.44], [0.6188, 0.44], [0.4969, 0.5875], [0.3938, 0.6969], [0.6063, 0.6969]],
    dtype=np.float64,
)

# A detector's face box (tight around brows..chin) is enlarged by this factor around its centre to
# give the canonical square; a later issue calibrates it for the chosen detector.
BOX_EXPAND = 1.45

# What fills the part of the canonical square that lies outside the source image (e.g. the tight
# 108 crop covers only its middle): a flat mid grey, 0 after normalisation. Training blanks the
# same border on a share of full-framed faces too (``augment.border``), so the border does not
# tell the source apart.
FILL = (128, 128, 128)


@dataclass(frozen=True)
class Framing:
    """Where the canonical square lies in images of one source framing (fractions of the width)."""

    name: str
    cx: float
    cy: float
    size: float
    description: str = ""

    def square(self, width: int, height: int) -> tuple[float, float, float, float]:
        """Canonical square ``(left, top, right, bottom)`` in pixels for an image of this size."""
        side = self.size * width
        cx, cy = self.cx * width, self.cy * height
        return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)

    def coverage(self) -> tuple[float, float, float, float]:
        """The part of the canonical square that a square source image covers, as fractions
        ``(left, top, right, bottom)`` of its side, clipped to [0, 1]."""
        x0, y0 = (self.size / 2 - self.cx) / self.size, (self.size / 2 - self.cy) / self.size
        x1, y1 = x0 + 1 / self.size, y0 + 1 / self.size
        return (max(0.0, x0), max(0.0, y0), min(1.0, x1), min(1.0, y1))

    def min_decode_side(self, size: int) -> int:
        """The shortest side an image of this framing may be decoded at (JPEG ``draft``) and
        still give a face square of at least ``size`` pixels."""
        return math.ceil(size / min(self.size, 1.0))

    def to_dict(self) -> dict[str, float | str]:
        return {"name": self.name, "cx": self.cx, "cy": self.cy, "size": self.size}


@cache
def framings() -> dict[str, Framing]:
    """All framings from the packaged ``framings.toml``."""
    text = resources.files("faceattr").joinpath("framings.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    return {
        name: Framing(name, float(v["cx"]), float(v["cy"]), float(v["size"]),
                      v.get("description", ""))
        for name, v in table.items()
    }


def get_framing(name: str | None) -> Framing:
    """Look up a framing by name (``None`` means the default, :data:`DEFAULT_FRAMING`)."""
    name = name or DEFAULT_FRAMING
    known = framings()
    if name not in known:
        raise FaceAttrError(f"unknown framing {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def square_from_box(box: tuple[float, float, float, float],
                    expand: float = BOX_EXPAND) -> tuple[float, float, float, float]:
    """Canonical square from a face box ``(left, top, right, bottom)``."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * expand
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def similarity_from_landmarks(landmarks: np.ndarray, size: int,
                              template: np.ndarray = CANONICAL_LANDMARKS) -> np.ndarray:
    """Least-squares similarity (Umeyama) taking output pixels to source pixels.

    ``template``: where the landmarks belong in the canonical square (fractions of its side).
    Returns the 2x3 matrix ``M`` with ``src = M @ [u, v, 1]`` for output pixel ``(u, v)``.
    """
    src = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if src.shape != template.shape:
        raise FaceAttrError(f"expected {len(template)} landmarks (x, y), got array of shape "
                            f"{src.shape}")
    dst = template * size
    # Solve dst -> src: src = s R dst + t.
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s_c, d_c = src - mu_s, dst - mu_d
    cov = s_c.T @ d_c / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    scale = (sig * d).sum() / d_c.var(0).sum()
    t = mu_s - scale * rot @ mu_d
    return np.hstack([scale * rot, t[:, None]])


def frame_face(
    image: Image.Image,
    size: int,
    framing: Framing | str | None = None,
    box: tuple[float, float, float, float] | None = None,
    landmarks: np.ndarray | None = None,
    template: np.ndarray = CANONICAL_LANDMARKS,
) -> Image.Image:
    """Cut the canonical face square out of ``image`` and resize it to ``size`` x ``size`` RGB.

    Priority: ``landmarks`` (similarity alignment), then ``box`` (a detector's face box), then the
    dataset ``framing`` (name or :class:`Framing`; default: tight face crops).
    """
    image = image.convert("RGB")
    if landmarks is not None:
        return align(image, similarity_from_landmarks(landmarks, size, template), size)
    if box is not None:
        square = square_from_box(box)
    else:
        if not isinstance(framing, Framing):
            framing = get_framing(framing)
        square = framing.square(*image.size)
    return resize_square(image, square, size)


def align(image: Image.Image, m: np.ndarray, size: int) -> Image.Image:
    """Resample ``image`` through the similarity ``m`` (output pixel -> source pixel) into a
    ``size`` x ``size`` square. Shrinking by a lot, the face's region is first reduced with a
    box filter, as :func:`resize_square` does, so a big face is not aliased."""
    step = math.sqrt(abs(np.linalg.det(m[:, :2])))  # source pixels per output pixel
    factor = int(step // 2)
    if factor >= 2:
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]]) @ m.T
        x0, y0 = np.floor(corners.min(0)).astype(int) - factor
        x1, y1 = np.ceil(corners.max(0)).astype(int) + factor
        # cut the region (outside the picture: the fill grey), then reduce it
        region = image.crop((int(x0), int(y0), int(x1), int(y1)))
        if (x0 < 0 or y0 < 0 or x1 > image.width or y1 > image.height):
            back = Image.new("RGB", region.size, FILL)
            back.paste(image.crop((max(0, x0), max(0, y0), min(image.width, x1),
                                   min(image.height, y1))), (max(0, -x0), max(0, -y0)))
            region = back
        image = region.reduce(factor)
        m = m.copy()
        m[:, 2] -= [x0, y0]
        m /= factor
    return image.transform((size, size), Image.Transform.AFFINE, tuple(m.ravel()),
                           Image.Resampling.BILINEAR, fillcolor=FILL)


def resize_square(image: Image.Image, square: tuple[float, float, float, float],
                  size: int) -> Image.Image:
    """Resample the square region to ``size`` x ``size``, antialiased when shrinking."""
    x0, y0, x1, y1 = square
    side = x1 - x0
    # Shrinking by a lot: first reduce with a box filter (fast, antialiased), then resample.
    factor = int(side // (2 * size))
    if factor >= 2:
        image = image.reduce(factor)
        x0, y0, x1, y1 = (c / factor for c in square)
    return image.transform((size, size), Image.Transform.EXTENT, (x0, y0, x1, y1),
                           Image.Resampling.BILINEAR, fillcolor=FILL)
