"""``--annotate DIR``: copies of the pictures with face boxes and top attributes drawn."""

from __future__ import annotations

from pathlib import Path

from PIL import ImageDraw

from faceattr.inference.recognizer import Prediction
from faceattr.preprocess.image import open_image


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def free_spot(rect: tuple[float, float, float, float],
              placed: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    """``rect`` moved down, a line at a time, until it overlaps no label already placed."""
    x0, y0, x1, y1 = rect
    while any(_overlap((x0, y0, x1, y1), q) for q in placed):
        y0, y1 = y0 + (y1 - y0), y1 + (y1 - y0)
    return (x0, y0, x1, y1)


def annotate(source: Path, preds: list[Prediction], out_dir: Path, top: int = 4) -> Path:
    """Draw each face's box, landmarks and its ``top`` most probable present attributes."""
    image = open_image(source)
    draw = ImageDraw.Draw(image)
    width = max(2, round(min(image.size) / 250))
    placed: list[tuple[float, float, float, float]] = []
    for p in preds:
        if p.face is None:
            continue
        x0, y0, x1, y1 = p.face.box
        colour = (150, 150, 150) if p.skipped else (59, 125, 221)
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        for x, y in p.face.landmarks:
            draw.ellipse((x - width, y - width, x + width, y + width), fill=(255, 80, 80))
        label = f"{p.face_index}: " + ("too small" if p.skipped else ", ".join(
            a.replace("_", " ") for a in p.present[:top]) or "(none)")
        tw = draw.textlength(label)
        rect = free_spot((x0, y1, x0 + tw + 6, y1 + 14), placed)
        placed.append(rect)
        draw.rectangle(rect, fill=colour)
        draw.text((rect[0] + 3, rect[1] + 1), label, fill="white")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / (source.stem + ".annotated.jpg")
    image.save(out, quality=92)
    return out
