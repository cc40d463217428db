"""Opening images safely: one clear error naming the file, EXIF orientation honoured."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from faceattr.data.shards import read_bytes
from faceattr.errors import FaceAttrError

# Refuse decompression bombs outright instead of warning (Pillow's default warns above ~89 MP).
MAX_PIXELS = 64_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def open_image(path: str | Path) -> Image.Image:
    """Open an image file (or tar member, ``shard.tar/name.webp``) as upright RGB, or raise
    :class:`FaceAttrError` naming it."""
    path = Path(path)
    try:
        member = read_bytes(path)
        with Image.open(path if member is None else io.BytesIO(member)) as im:
            im.load()
            return ImageOps.exif_transpose(im).convert("RGB")
    except FileNotFoundError:
        raise FaceAttrError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FaceAttrError(f"{path}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise FaceAttrError(f"{path}: not an image file (or a format Pillow can't read)") from None
    except Image.DecompressionBombError:
        raise FaceAttrError(f"{path}: image too large (over {MAX_PIXELS} pixels)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise FaceAttrError(f"{path}: broken image ({e})") from None


def to_pil(image: str | Path | Image.Image | np.ndarray) -> Image.Image:
    """Accept a path, a PIL image or an HxWx3 uint8 array (RGB); return RGB PIL."""
    if isinstance(image, (str, Path)):
        return open_image(image)
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray):
        arr = image
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, axis=-1)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise FaceAttrError(f"expected an HxWx3 RGB array, got shape {arr.shape}")
        if arr.dtype != np.uint8:
            if np.issubdtype(arr.dtype, np.floating) and arr.max() <= 1.0:
                arr = arr * 255.0
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        return Image.fromarray(np.ascontiguousarray(arr[..., :3]))
    raise FaceAttrError(f"cannot read an image from a {type(image).__name__}")
