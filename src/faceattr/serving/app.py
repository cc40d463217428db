"""``faceattr serve``: an HTTP API and a web page for face attribute recognition.

Inference runs in a bounded thread pool, so a slow request never blocks ``/healthz``; requests
beyond the pool wait in a bounded queue and get 503 when it is full.
"""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import FastAPI, File, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, Field

from faceattr import __version__
from faceattr.errors import FaceAttrError
from faceattr.inference.recognizer import Recognizer
from faceattr.serving.groups import attribute_groups

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_FILES = 16


class Face(BaseModel):
    box: list[float] = Field(description="[left, top, right, bottom] of the face, px")
    landmarks: list[list[float]] | None = Field(
        None, description="5 landmarks (x, y), when the face was detected")
    probabilities: dict[str, float]
    decisions: dict[str, bool]


class ImageResult(BaseModel):
    file: str
    width: int | None = None
    height: int | None = None
    faces: list[Face] = []
    error: str | None = None


class PredictResponse(BaseModel):
    model: str
    threshold: str
    results: list[ImageResult]


class AttributesResponse(BaseModel):
    attributes: list[str]
    thresholds: dict[str, float]
    tuned_thresholds: dict[str, float]
    groups: dict[str, list[str]]


class Health(BaseModel):
    status: str
    version: str
    model: str


def decode_upload(name: str, data: bytes, max_pixels: int) -> Image.Image:
    """Open uploaded bytes as RGB, refusing non-images and decompression bombs (HTTP 4xx)."""
    try:
        im = Image.open(io.BytesIO(data))
        w, h = im.size
        if w * h > max_pixels:
            raise HTTPException(413, f"{name}: {w}x{h} pixels is over the limit of {max_pixels}")
        im.load()
        return ImageOps.exif_transpose(im).convert("RGB")
    except HTTPException:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise HTTPException(415, f"{name}: not an image (or a format we can't read)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise HTTPException(415, f"{name}: broken image ({e})") from None


def create_app(model: str | Path | None = None, workers: int = 2, queue: int = 64,
               max_upload_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS) -> FastAPI:
    """Build the application around one loaded model."""
    from faceattr.preprocess.detect import detector_available

    detect = detector_available()  # find every face when the detect extra is installed
    rec = Recognizer(model, detect=detect)
    thresholds = {mode: rec.engine.thresholds(mode) for mode in ("0.5", "tuned")}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="infer")
    slots = asyncio.Semaphore(workers + queue)
    model_name = rec.engine.path.name
    app = FastAPI(title="faceattr", version=__version__,
                  description="Face attribute recognition: CNN + bidirectional LSTM.")
    static = resources.files("faceattr").joinpath("serving/static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(static.joinpath("index.html")))

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        return Health(status="ok", version=__version__, model=model_name)

    @app.get("/v1/attributes", response_model=AttributesResponse)
    def attributes() -> AttributesResponse:
        attrs = rec.attributes
        return AttributesResponse(
            attributes=attrs,
            thresholds=dict(zip(attrs, map(float, thresholds["0.5"]))),
            tuned_thresholds=dict(zip(attrs, map(float, thresholds["tuned"]))),
            groups=attribute_groups(attrs))

    def infer(uploads: list[tuple[str, bytes]]):
        """In the worker pool: decode (may raise 413/415), find faces, run the network."""
        images = [decode_upload(name, data, max_pixels) for name, data in uploads]
        per_image = [rec.faces(im) for im in images]
        squares = [sq for faces in per_image for sq, _ in faces]
        probs = rec.engine.probabilities(np.stack(squares)) if squares else np.zeros((0, 0))
        return images, per_image, probs

    @app.post("/v1/predict", response_model=PredictResponse)
    async def predict(
        files: Annotated[list[UploadFile], File(description="images (repeat 'files')")],
        threshold: Annotated[str, Query(pattern="^(0\\.5|tuned)$")] = "0.5",
    ) -> PredictResponse:
        if len(files) > MAX_FILES:
            raise HTTPException(413, f"at most {MAX_FILES} files per request")
        uploads = []
        for f in files:
            name = Path(f.filename or "upload").name  # a client never names a server path
            data = await f.read(max_upload_bytes + 1)
            if len(data) > max_upload_bytes:
                raise HTTPException(413, f"{name}: larger than {max_upload_bytes} bytes")
            uploads.append((name, data))
        if slots.locked():
            raise HTTPException(503, "server busy: too many requests waiting; retry shortly")
        async with slots:
            loop = asyncio.get_running_loop()
            try:
                images, per_image, probs = await loop.run_in_executor(pool, infer, uploads)
            except FaceAttrError as e:
                raise HTTPException(422, str(e)) from None
        attrs, cut, k = rec.attributes, thresholds[threshold], 0
        results = [ImageResult(file=name, width=im.width, height=im.height)
                   for (name, _), im in zip(uploads, images)]
        for res, im, faces in zip(results, images, per_image):
            for _, det in faces:
                p = probs[k]
                k += 1
                square = det.box if det is not None else rec.framing.square(im.width, im.height)
                res.faces.append(Face(
                    box=[round(float(v), 1) for v in square],
                    landmarks=None if det is None else np.round(det.landmarks, 1).tolist(),
                    probabilities={a: float(v) for a, v in zip(attrs, p)},
                    decisions={a: bool(v >= t) for a, v, t in zip(attrs, p, cut)}))
            if not faces:
                res.error = f"{res.file}: no face found"
        return PredictResponse(model=model_name, threshold=threshold, results=results)

    app.state.pool = pool
    return app


def serve(model: str | Path | None, host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(create_app(model, workers=workers), host=host, port=port, log_level="info")
