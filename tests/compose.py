"""Compose test pictures from shared face crops: several faces pasted on one canvas, rotated,
scaled and padded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def compose(files: list[Path], angles: list[float], scales: list[float],
            canvas: tuple[int, int] = (1000, 800), seed: int = 0):
    """Paste one face per file in its own cell of a 2-column grid; returns the picture and the
    centre of each pasted face in it."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(90, 160, (canvas[1] // 8, canvas[0] // 8, 3), dtype=np.uint8)
    picture = Image.fromarray(bg).resize(canvas, Image.Resampling.BILINEAR)
    cols, rows = 2, -(-len(files) // 2)
    cw, ch = canvas[0] // cols, canvas[1] // rows
    centres = []
    for k, (f, angle, scale) in enumerate(zip(files, angles, scales)):
        face = Image.open(f).convert("RGB")
        face = face.resize((round(face.width * scale), round(face.height * scale)),
                           Image.Resampling.BICUBIC)
        mask = Image.new("L", face.size, 255)
        face = face.rotate(angle, Image.Resampling.BICUBIC, expand=True)
        mask = mask.rotate(angle, Image.Resampling.BICUBIC, expand=True)
        cx, cy = (k % cols) * cw + cw // 2, (k // cols) * ch + ch // 2
        picture.paste(face, (cx - face.width // 2, cy - face.height // 2), mask)
        centres.append((cx, cy))
    return picture, centres
