"""``--annotate DIR``: copies of the pictures with face boxes and top attributes drawn."""

from __future__ import annotations

from pathlib import Path

from PIL import ImageDraw

from faceattr.inference.recognizer import Prediction
from faceattr.preprocess.image import open_image


def annotate(source: Path, preds: list[Prediction], out_dir: Path, top: int = 4) -> Path:
    """Draw each face's box, landmarks and its ``top`` most probable present attributes."""
    image = open_image(source)
    draw = ImageDraw.Draw(image)
    width = max(2, round(min(image.size) / 250))
    for p in preds:
        if p.face is None:
            continue
        x0, y0, x1, y1 = p.face.box
        draw.rectangle((x0, y0, x1, y1), outline=(59, 125, 221), width=width)
        for x, y in p.face.landmarks:
            draw.ellipse((x - width, y - width, x + width, y + width), fill=(255, 80, 80))
        label = ", ".join(a.replace("_", " ") for a in p.present[:top]) or "(none)"
        tw = draw.textlength(label)
        draw.rectangle((x0, y1, x0 + tw + 6, y1 + 14), fill=(59, 125, 221))
        draw.text((x0 + 3, y1 + 1), label, fill="white")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / (source.stem + ".annotated.jpg")
    image.save(out, quality=92)
    return out
