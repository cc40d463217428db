"""The bad-input corpus: every kind of hostile or broken image a user can hand faceattr.

Each kind is built in memory (nothing large is stored in the repository) and comes with what
every surface must answer: the HTTP status of the service, and a piece of the one-line message
that the CLI, the Python API and the service all give.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "face.jpg"


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's
    header: refused before a single row is decoded)."""
    buf = io.BytesIO()
    Image.new("L", (16, 16)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = 8  # after the signature: length (4), b"IHDR" (4), then width and height
    data[ihdr + 8:ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4:ihdr + 4 + 4 + 13]))
    data[ihdr + 8 + 13:ihdr + 8 + 17] = struct.pack(">I", crc)
    return bytes(data)


def encoded(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


@dataclass(frozen=True)
class Bad:
    name: str  # file name as uploaded / written
    data: bytes
    status: int  # what the service answers for this file alone
    message: str  # a piece of the one-line message every surface gives


def corpus() -> list[Bad]:
    jpeg = EXAMPLE.read_bytes()
    return [
        Bad("empty.jpg", b"", 415, "not an image file"),
        Bad("noise.jpg", np.random.default_rng(0).bytes(5000), 415, "not an image file"),
        Bad("text.png", b"hello, I am not a picture\n" * 10, 415, "not an image file"),
        Bad("truncated.jpg", jpeg[: len(jpeg) // 3], 415, "broken image"),
        Bad("header-only.jpg", jpeg[:200], 415, "broken image"),
        Bad("svg.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>',
            415, "not an image file"),
        Bad("html.jpg", b"<!doctype html><html><body>hi</body></html>", 415,
            "not an image file"),
        Bad("tiny.png", encoded(Image.new("RGB", (1, 1)), "PNG"), 422, "too small to hold a face"),
        Bad("sliver.png", encoded(Image.new("RGB", (4000, 8)), "PNG"), 422,
            "too small to hold a face"),
        Bad("bomb.png", png_claiming(20_000, 20_000), 413, "over the limit"),
        Bad("wide-bomb.png", png_claiming(1_000_000, 100), 413, "over the limit"),
    ]
