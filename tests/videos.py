"""Test videos made from the shared face crops: faces that move, leave and enter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def face_tile(path: Path, side: int) -> Image.Image:
    return Image.open(path).convert("RGB").resize((side, side), Image.Resampling.BICUBIC)


def make_video(out: Path, crops: list[Path], seconds: float = 6.0, fps: int = 30,
               size: tuple[int, int] = (640, 360), side: int = 140, codec: str = "libx264"):
    """A clip where face 0 walks left to right the whole time, face 1 stays top right for the
    first 40% and then leaves, and face 2 enters bottom right after 60%. Returns, per face,
    the times it is in view."""
    import av

    w, h = size
    tiles = [face_tile(c, side) for c in crops[:3]]
    rng = np.random.default_rng(0)
    background = Image.fromarray(rng.integers(70, 180, (h // 8, w // 8, 3), dtype=np.uint8)
                                 ).resize(size, Image.Resampling.BILINEAR)
    n = int(seconds * fps)
    with av.open(str(out), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i in range(n):
            frac = i / (n - 1)
            im = background.copy()
            x0 = int(10 + frac * (w * 0.55 - 10))
            im.paste(tiles[0], (x0, (h - side) // 2 - 40))
            if frac < 0.4:
                im.paste(tiles[1], (w - side - 10, 5))
            if frac > 0.6:
                im.paste(tiles[2], (w - side - 10, h - side - 5))
            for packet in stream.encode(av.VideoFrame.from_image(im)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return {0: (0.0, seconds), 1: (0.0, 0.4 * seconds), 2: (0.6 * seconds, seconds)}


def make_y4m(out: Path, crop: Path, frames: int = 20, size: tuple[int, int] = (640, 480),
             fps: int = 10) -> None:
    """A raw YUV4MPEG2 clip (what Chromium's fake camera plays) of one face crop sliding right."""
    w, h = size
    tile = face_tile(crop, 200)
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            im = Image.new("RGB", size, (120, 130, 140))
            im.paste(tile, (120 + 8 * i, (h - 200) // 2))
            y, cb, cr = im.convert("YCbCr").split()
            f.write(b"FRAME\n")
            f.write(y.tobytes())
            f.write(cb.resize((w // 2, h // 2), Image.Resampling.BILINEAR).tobytes())
            f.write(cr.resize((w // 2, h // 2), Image.Resampling.BILINEAR).tobytes())


def make_cuts(out: Path, crops: list[Path], seconds: float = 1.0, fps: int = 10,
              size: tuple[int, int] = (480, 360), side: int = 180) -> list[tuple[float, float]]:
    """Hard cuts: each crop in turn at the same spot (drifting a pixel a frame) for ``seconds``;
    returns each person's time span."""
    import av

    w, h = size
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for crop in crops:
            tile = face_tile(crop, side)
            for i in range(round(seconds * fps)):
                im = Image.new("RGB", size, (90, 110, 130))
                im.paste(tile, ((w - side) // 2 + i, (h - side) // 2))
                for packet in stream.encode(av.VideoFrame.from_image(im)):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return [(k * seconds, (k + 1) * seconds) for k in range(len(crops))]
