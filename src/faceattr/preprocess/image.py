"""Opening images safely, in one place for the CLI, the Python API and the service.

Every input goes through :func:`decode` (files, tar members, uploaded bytes) or :func:`to_pil`
(arrays, PIL images): the pixel count is checked from the header before anything is decoded,
images too small to hold a face are refused, EXIF orientation is honoured, and every mode Pillow
opens becomes 8-bit RGB by :func:`to_rgb` (16-bit and float greyscale scaled, not clipped;
transparency laid over the same grey that fills the border of a face square).
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from faceattr.errors import FaceAttrError, FaceAttrWarning, ImageTooLarge, UnreadableImage
from faceattr.preprocess.framing import FILL
from faceattr.storage.shards import read_bytes

MAX_PIXELS = 64_000_000  # one limit for CLI, API and service; checked before decoding
MIN_SIDE = 16  # px: anything smaller cannot hold a face
# Pillow's own bomb check stays as a safety net far above ours (ours names the size).
Image.MAX_IMAGE_PIXELS = 4 * MAX_PIXELS


def check_size(width: int, height: int, name: str) -> None:
    """Refuse too many pixels (:class:`ImageTooLarge`) or a side under :data:`MIN_SIDE`."""
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(f"{name}: {width}x{height} pixels is over the limit of "
                            f"{MAX_PIXELS:,} pixels")
    if min(width, height) < MIN_SIDE:
        raise FaceAttrError(f"{name}: {width}x{height} pixels is too small to hold a face "
                            f"(at least {MIN_SIDE}x{MIN_SIDE})")


def to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB from any mode Pillow opens.

    16-bit greyscale (``I;16*``, and ``I`` holding values over 255) is scaled from 0..65535;
    float greyscale (``F``) from 0..1 when it stays within it, else taken as 0..255; alpha
    (``RGBA``, ``LA``, ``PA``, ``P`` with transparency) is laid over the border grey; ``CMYK``,
    ``YCbCr``, ``LAB``, ``HSV``, ``P``, ``L`` and ``1`` convert as Pillow converts them.
    """
    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I") or mode == "F":
        return grey8(im).convert("RGB")
    if "A" in mode or "a" in mode or (mode == "P" and "transparency" in im.info):
        back = Image.new("RGBA", im.size, (*FILL, 255))
        back.alpha_composite(im.convert("RGBA"))
        return back.convert("RGB")
    return im.convert("RGB")


def grey8(im: Image.Image) -> Image.Image:
    """A 16/32-bit integer or float greyscale picture as 8-bit ``L`` (see :func:`to_rgb`),
    converted a band of rows at a time in float32."""
    mode = im.mode
    a = np.asarray(im)
    top = float(a.max(initial=0))
    k = 1.0
    if mode.startswith("I;16") or (mode.startswith("I") and top > 255):
        k = 255.0 / 65535.0
    elif mode == "F" and top <= 1.0:
        k = 255.0
    grey = np.empty(a.shape, np.uint8)
    for r in range(0, a.shape[0], 256):  # float32, a band of rows at a time
        band = a[r:r + 256].astype(np.float32) * np.float32(k)
        grey[r:r + 256] = np.clip(np.rint(band), 0, 255)
    return Image.fromarray(grey, "L")


def reduce_like_draft(im: Image.Image, short: int | None, long: int | None) -> Image.Image:
    """What JPEG ``draft`` does for the other formats: the picture reduced by the largest of 2,
    4 or 8 that keeps the shorter side at least ``short`` and the longer at least ``long``
    (box filter, in the picture's own mode: a 64 MP 16-bit PNG is never held as 8-bit RGB, let
    alone as floats, at full size)."""
    w, h = im.size
    k = max((short or 0) / min(w, h), (long or 0) / max(w, h))
    factor = 1
    while factor < 8 and k * factor * 2 <= 1:
        factor *= 2
    if factor == 1:
        return im
    if im.mode.startswith("I;16"):  # reduce() does not take it: 8-bit grey first (1 byte/px)
        im = grey8(im)
    try:
        return im.reduce(factor)
    except ValueError:  # another mode reduce() does not take: convert first
        return to_rgb(im).reduce(factor)


def decode(source: str | Path | bytes, name: str | None = None,
           reduce_to: int | None = None) -> Image.Image:
    """Decode a file, a tar member (``shard.tar/name.webp``) or bytes into upright 8-bit RGB.

    ``reduce_to``: a JPEG may be decoded at 1/2, 1/4 or 1/8 scale (Pillow's ``draft``, far
    cheaper than decoding in full) as long as its shorter side stays at least this many pixels.
    Raises :class:`FaceAttrError` (or its subclasses) with a message that starts with ``name``.
    """
    return decode_reduced(source, name, short=reduce_to)[0]


def decode_reduced(source: str | Path | bytes, name: str | None = None, *,
                   short: int | None = None, long: int | None = None
                   ) -> tuple[Image.Image, float]:
    """Like :func:`decode`, reduced as far as JPEG ``draft`` allows while the shorter side stays
    at least ``short`` and the longer side at least ``long`` pixels; returns the picture and its
    scale (the full picture's width over the decoded one's: 1, 2, 4 or 8)."""
    fp: Path | io.BytesIO
    if isinstance(source, bytes):
        name, fp = name or "upload", io.BytesIO(source)
    else:
        path = Path(source)
        name = name or str(path)
        member = read_bytes(path)
        if member is None and path.exists() and not path.is_file() and not path.is_dir():
            raise FaceAttrError(f"{name}: not a regular file (a device, pipe or socket)")
        fp = path if member is None else io.BytesIO(member)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fp)
        with im:
            check_size(*im.size, name)
            frames = getattr(im, "n_frames", 1)
            if frames > 1 and im.format in ("GIF", "WEBP", "PNG"):
                warnings.warn(f"{name}: animated ({frames} frames); only the first frame is "
                              "read (extract the frames to read the others)",
                              FaceAttrWarning, stacklevel=2)
            full = im.size
            if (short or long) and im.format == "JPEG":
                w, h = im.size
                k = max((short or 0) / min(w, h), (long or 0) / max(w, h))
                if k < 1:
                    im.draft("RGB", (math.ceil(w * k), math.ceil(h * k)))
            im.load()
            pic: Image.Image = im
            if (short or long) and im.format != "JPEG":
                pic = reduce_like_draft(im, short, long)
            scale = full[0] / pic.size[0]
            return to_rgb(ImageOps.exif_transpose(pic)), scale
    except FaceAttrError:
        raise
    except FileNotFoundError:
        raise FaceAttrError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise FaceAttrError(f"{name}: is a folder, not an image") from None
    except PermissionError:
        raise FaceAttrError(f"{name}: permission denied") from None
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"{name}: image is over the limit of {MAX_PIXELS:,} pixels") from None
    except UnidentifiedImageError:
        raise UnreadableImage(f"{name}: not an image file (or a format Pillow can't read)") \
            from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise UnreadableImage(f"{name}: broken image ({str(e)[:80]})") from None


def open_image(path: str | Path, reduce_to: int | None = None) -> Image.Image:
    """Open an image file (or tar member) as upright RGB, or raise :class:`FaceAttrError`."""
    return decode(Path(path), reduce_to=reduce_to)


def to_pil(image: str | Path | Image.Image | np.ndarray, name: str = "image",
           reduce_to: int | None = None) -> Image.Image:
    """Accept a path, a PIL image or an HxW(x3|x4) array (uint8, uint16 or float in 0..1);
    return 8-bit RGB PIL, with the same checks as files (``reduce_to``: see :func:`decode`)."""
    if isinstance(image, (str, Path)):
        return open_image(image, reduce_to)
    if isinstance(image, Image.Image):
        check_size(*image.size, name)
        try:
            image.load()  # a closed image says so here
            return to_rgb(image)
        except (ValueError, OSError) as e:  # a closed image, a mode Pillow cannot convert (La, ...)
            raise FaceAttrError(f"{name}: cannot use this PIL image ({e})") from None
    if isinstance(image, np.ndarray):
        arr = image
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
                or arr.dtype == bool):
            raise FaceAttrError(f"{name}: an array of {arr.dtype} is not an image (expected "
                                "uint8, uint16 or float pixels)")
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
            raise FaceAttrError(f"{name}: expected an HxWx3 RGB array, got shape {arr.shape}")
        check_size(arr.shape[1], arr.shape[0], name)
        if arr.dtype == np.uint16:
            arr = arr / 257.0
        elif np.issubdtype(arr.dtype, np.floating) and np.nanmax(arr) <= 1.0:
            arr = arr * 255.0
        if arr.dtype != np.uint8:
            arr = np.clip(np.nan_to_num(arr), 0, 255).round().astype(np.uint8)
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, axis=-1)
        return Image.fromarray(np.ascontiguousarray(arr[..., :3]))
    raise FaceAttrError(f"cannot read an image from a {type(image).__name__}")
