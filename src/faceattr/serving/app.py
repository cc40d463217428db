"""``faceattr serve``: an HTTP API and a web page for face attribute recognition.

Decoding and detection run in a bounded thread pool, so a slow request never blocks
``/healthz``; the network runs on batches gathered across concurrent requests
(:class:`~faceattr.serving.batching.MicroBatcher`); requests beyond the pool wait in a bounded
queue and get 503 when it is full.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from PIL import Image
from pydantic import BaseModel, Field

from faceattr import __version__
from faceattr.errors import FaceAttrError, ImageTooLarge, UnreadableImage
from faceattr.inference.recognizer import Recognizer
from faceattr.serving.batching import MicroBatcher
from faceattr.serving.groups import attribute_groups

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_FILES = 16


class Face(BaseModel):
    box: list[float] = Field(description="[left, top, right, bottom] of the face, px")
    landmarks: list[list[float]] | None = Field(
        None, description="5 landmarks (x, y), when the face was detected")
    probabilities: dict[str, float]
    decisions: dict[str, bool]


class ImageResult(BaseModel):
    file: str
    status: int = Field(200, description="200, or the HTTP status this file alone would get")
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


def upload_name(filename: str | None) -> str:
    """The base name of an uploaded file: a client never names a server path (``/`` or ``\\``)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name or "upload"


def http_status(error: FaceAttrError) -> int:
    """413 for too many pixels, 415 for what is not an image, 422 for the rest."""
    if isinstance(error, ImageTooLarge):
        return 413
    return 415 if isinstance(error, UnreadableImage) else 422


def create_app(model: str | Path | None = None, workers: int = 4, queue: int = 64,
               max_upload_bytes: int = MAX_UPLOAD_BYTES) -> FastAPI:
    """Build the application around one loaded model."""
    from faceattr.preprocess.detect import detector_available

    detect = detector_available()  # find every face when the detect extra is installed
    rec = Recognizer(model, detect=detect)
    thresholds = {mode: rec.engine.thresholds(mode) for mode in ("0.5", "tuned")}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="infer")
    batcher = MicroBatcher(rec.engine)  # concurrent requests share network calls
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

    def infer(uploads: list[tuple[str, bytes | FaceAttrError]]):
        """In the worker pool: decode each upload, find its faces, run the network once."""
        decoded: list[tuple[Image.Image | None, list, FaceAttrError | None]] = []
        for name, data in uploads:
            try:
                if isinstance(data, FaceAttrError):
                    raise data
                im = rec.read(data, name)
                decoded.append((im, rec.faces(im), None))
            except FaceAttrError as e:
                decoded.append((None, [], e))
        squares = [sq for _, faces, _ in decoded for sq, _ in faces]
        probs = batcher(np.stack(squares)) if squares else np.zeros((0, 0))
        return decoded, probs

    @app.post("/v1/predict", response_model=PredictResponse)
    async def predict(
        files: Annotated[list[UploadFile], File(description="images (repeat 'files')")],
        threshold: Annotated[str, Query(max_length=16, description=(
            "0.5 (default), tuned (per attribute) or a number between 0 and 1"))] = "0.5",
    ) -> PredictResponse:
        try:
            cut = rec.engine.thresholds(threshold)
        except FaceAttrError as e:
            raise HTTPException(422, str(e)) from None
        if len(files) > MAX_FILES:
            raise HTTPException(413, f"at most {MAX_FILES} files per request")
        uploads: list[tuple[str, bytes | FaceAttrError]] = []
        for f in files:
            name = upload_name(f.filename)
            data = await f.read(max_upload_bytes + 1)
            if len(data) > max_upload_bytes:
                uploads.append((name, ImageTooLarge(f"{name}: larger than {max_upload_bytes} "
                                                    "bytes")))
            else:
                uploads.append((name, data))
        if slots.locked():
            raise HTTPException(503, "server busy: too many requests waiting; retry shortly")
        async with slots:
            loop = asyncio.get_running_loop()
            decoded, probs = await loop.run_in_executor(pool, infer, uploads)
        failed = [e for _, _, e in decoded if e is not None]
        if len(failed) == len(decoded):  # nothing usable: the first file's own status
            raise HTTPException(http_status(failed[0]), str(failed[0]))
        attrs, k = rec.attributes, 0
        results = []
        for (name, _), (im, faces, err) in zip(uploads, decoded):
            if err is not None:
                results.append(ImageResult(file=name, status=http_status(err), error=str(err)))
                continue
            res = ImageResult(file=name, width=im.width, height=im.height)
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
            results.append(res)
        return PredictResponse(model=model_name, threshold=threshold, results=results)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 without the offending input: an upload's bytes are never echoed back."""
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    app.state.pool, app.state.batcher = pool, batcher
    return app


def serve(model: str | Path | None, host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(create_app(model, workers=workers), host=host, port=port, log_level="info")
