"""``faceattr serve``: an HTTP API and a web page for face attribute recognition.

Decoding and detection run in a bounded thread pool, so a slow request never blocks
``/healthz``; the network runs on batches gathered across concurrent requests
(:class:`~faceattr.serving.batching.MicroBatcher`); requests beyond the pool wait in a bounded
queue and get 503 when it is full.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from faceattr import __version__
from faceattr.errors import FaceAttrError, ImageTooLarge, UnreadableImage
from faceattr.inference.options import PredictOptions
from faceattr.preprocess.detectors import DEFAULT_DETECTOR
from faceattr.preprocess.faces import MIN_FACE, PictureFaces
from faceattr.results import SCHEMA_VERSION
from faceattr.serving.batching import MicroBatcher
from faceattr.serving.groups import attribute_groups

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_FILES = 16
# upload bytes held at once over all requests; with the decoded pictures (each reduced to the
# detector's scan size as it is decoded) this keeps the service under about 2 GB
MAX_INFLIGHT_BYTES = 256 * 1024 * 1024


class ByteBudget:
    """A count of bytes that requests take before reading their uploads and give back after."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        with self._lock:
            if self.used and self.used + n > self.limit:  # one request alone always fits
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n


class Face(BaseModel):
    """One face: :meth:`faceattr.results.Prediction.record`, the record JSON lines hold too."""

    schema_: int = Field(SCHEMA_VERSION, alias="schema", description="record schema version")
    file: str
    face: int = Field(description="the face's index in its picture, from 0, left to right")
    box: list[float] | None = Field(description="[left, top, right, bottom] of the face, px")
    landmarks: list[list[float]] | None = Field(
        None, description="5 landmarks (x, y), when the face was detected")
    score: float | None = Field(None, description="the detector's score, when detected")
    turned: int | None = Field(
        None, description="how far the face is turned, counter-clockwise degrees (0 upright; "
                          "90, 180, 270 found and aligned upright), when detected")
    skipped: str | None = Field(
        None, description="why this face has no attributes (smaller than the minimum size)")
    likeness: float | None = Field(
        None, description="the aligned face's likeness to the mean face, -1..1: under -0.2 it "
                          "is unlike a natural upright face (inverted colours, a drawing, an "
                          "animal); its answers are not to be trusted")
    age: float | None = Field(None, description="age in years (models with an age task)")
    age_sd: float | None = Field(None, description="uncertainty of the age, years")
    age_range: list[float] | None = Field(
        None, description="[low, high] years: holds the true age about 80% of the time")
    expression: str | None = Field(None, description="the most probable expression")
    expressions: dict[str, float] | None = Field(
        None, description="P(expression) for each of the model's expressions")
    probabilities: dict[str, float] | None = None
    decisions: dict[str, bool] | None = None
    unreliable: list[str] | None = Field(
        None, description="attributes not to trust here (colour ones, on a black-and-white face)")

    model_config = {"populate_by_name": True}


class ImageResult(BaseModel):
    file: str
    status: int = Field(200, description="200, or the HTTP status this file alone would get")
    width: int | None = None
    height: int | None = None
    faces: list[Face] = []
    error: str | None = None


class PredictResponse(BaseModel):
    schema_: int = Field(SCHEMA_VERSION, alias="schema", description="answer schema version")
    model: str
    threshold: str
    results: list[ImageResult]

    model_config = {"populate_by_name": True}


class AttributesResponse(BaseModel):
    attributes: list[str]
    thresholds: dict[str, float]
    tuned_thresholds: dict[str, float]
    groups: dict[str, list[str]]
    age: bool = Field(description="whether each face gets an age")
    expressions: list[str] = Field(description="the expressions each face gets P(.) for")


class Health(BaseModel):
    status: str
    version: str
    model: str
    detector: str | None = Field(description="the face detector, or null: inputs are crops")
    min_face: float = Field(description="faces narrower than this (px) get no attributes")


class Problem(BaseModel):
    """A refused request: why, in one line (an upload's bytes are never echoed)."""

    detail: str


# the answers /v1/predict gives besides 200, in the OpenAPI document
PREDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": Problem, "description": "more than 16 files, a file over 10 MB, or a "
                                           "picture over 64,000,000 pixels"},
    415: {"model": Problem, "description": "a body that is not multipart/form-data, or a file "
                                           "that is not an image"},
    422: {"model": Problem, "description": "a bad query value (threshold) or a multipart body "
                                           "without a 'files' file part"},
    503: {"model": Problem, "description": "busy: the queue is full or the uploads in flight "
                                           "already use the memory budget; retry later"},
}


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
               max_upload_bytes: int = MAX_UPLOAD_BYTES, detector: str = DEFAULT_DETECTOR,
               min_face: float = MIN_FACE, detector_score: float | None = None,
               detect_size: int | None = None, detect: bool = True,
               options: PredictOptions | None = None,
               max_inflight_bytes: int = MAX_INFLIGHT_BYTES) -> FastAPI:
    """Build the application around one loaded model and face detector (``options``, when
    given, instead of the separate model and detection arguments; a request sets its own
    threshold). Its thread pool, batcher and recognizer stop when the application does."""
    options = options or PredictOptions(model=None if model is None else str(model),
                                        detect=detect, detector=detector, min_face=min_face,
                                        detector_score=detector_score, detect_size=detect_size)
    rec = options.recognizer()
    thresholds = {mode: rec.engine.thresholds(mode) for mode in ("0.5", "tuned")}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="infer")
    batcher = MicroBatcher(rec.engine)  # concurrent requests share network calls
    slots = asyncio.Semaphore(workers + queue)
    budget = ByteBudget(max_inflight_bytes)
    model_name = rec.engine.path.name

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        pool.shutdown(wait=True, cancel_futures=True)
        batcher.close()
        rec.close()

    # /docs and /redoc from assets shipped in a package (fastapi-offline): they work offline
    app = FastAPIOffline(title="faceattr", version=__version__, lifespan=lifespan,
                         description="Face attribute recognition: CNN + bidirectional LSTM.")
    static = resources.files("faceattr").joinpath("serving/static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(static.joinpath("index.html")))

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        return Health(status="ok", version=__version__, model=model_name,
                      detector=rec.detector.name if rec.detector else None,
                      min_face=rec.pipeline.min_face)

    @app.get("/v1/attributes", response_model=AttributesResponse)
    def attributes() -> AttributesResponse:
        attrs = rec.attributes
        return AttributesResponse(
            attributes=attrs,
            thresholds=dict(zip(attrs, map(float, thresholds["0.5"]))),
            tuned_thresholds=dict(zip(attrs, map(float, thresholds["tuned"]))),
            groups=attribute_groups(attrs), age=rec.has_age, expressions=rec.expressions)

    def infer(uploads: list[tuple[str, bytes | FaceAttrError]]):
        """In the worker pool: each upload through the face pipeline, then the network once
        (batched with concurrent requests)."""
        found: list[PictureFaces | FaceAttrError] = []
        for name, data in uploads:
            try:
                if isinstance(data, FaceAttrError):
                    raise data
                found.append(rec.faces(data, name))
            except FaceAttrError as e:
                found.append(e)
        squares = [sq for got in found if not isinstance(got, FaceAttrError)
                   for sq in got.squares()]
        return found, batcher(np.stack(squares)) if squares else []

    @contextlib.asynccontextmanager
    async def read_uploads(files: list[UploadFile]):
        """The request's files as ``(name, bytes or ImageTooLarge)``, read within the memory
        budget: what they take is reserved before any is read (a request that does not fit
        beside those in flight is refused, 503, not read) and given back when it is done."""
        need = sum(min(f.size if f.size is not None else max_upload_bytes,
                       max_upload_bytes + 1) for f in files)
        if slots.locked() or not budget.take(need):
            raise HTTPException(503, "server busy: too many requests or too much upload data "
                                     "in flight; retry shortly")
        try:
            uploads: list[tuple[str, bytes | FaceAttrError]] = []
            for f in files:
                name = upload_name(f.filename)
                data = await f.read(max_upload_bytes + 1)
                if len(data) > max_upload_bytes:
                    uploads.append((name, ImageTooLarge(f"{name}: larger than "
                                                        f"{max_upload_bytes} bytes")))
                else:
                    uploads.append((name, data))
            yield uploads
        finally:
            budget.give(need)

    @app.post("/v1/predict", response_model=PredictResponse, response_model_by_alias=True,
              response_model_exclude_unset=True,  # a face is exactly its record
              responses=PREDICT_ERRORS)
    async def predict(
        files: Annotated[list[UploadFile], File(description="images (repeat 'files')")],
        threshold: Annotated[str, Query(max_length=16, description=(
            "0.5 (default), tuned (per attribute) or a number between 0 and 1"))] = "0.5",
    ) -> PredictResponse:
        try:
            cut = rec.engine.thresholds(threshold, "the threshold parameter")
        except FaceAttrError as e:
            raise HTTPException(422, str(e)) from None
        if len(files) > MAX_FILES:
            raise HTTPException(413, f"at most {MAX_FILES} files per request")
        async with read_uploads(files) as uploads, slots:
            loop = asyncio.get_running_loop()
            found, probs = await loop.run_in_executor(pool, infer, uploads)
        failed = [e for e in found if isinstance(e, FaceAttrError)]
        if len(failed) == len(found):  # nothing usable: the first file's own status
            raise HTTPException(http_status(failed[0]), str(failed[0]))
        scores = iter(probs)
        results = []
        for (name, _), got in zip(uploads, found):
            if isinstance(got, FaceAttrError):
                results.append(ImageResult(file=name, status=http_status(got), width=None,
                                           height=None, faces=[], error=str(got)))
                continue
            # the recognizer's own assembly of a picture's result, as predict and the API use it
            res = rec.result(name, got, scores, cut)
            results.append(ImageResult(file=name, status=200, width=res.width,
                                       height=res.height, error=res.error,
                                       faces=[Face(**p.record()) for p in res.faces]))
        return PredictResponse(schema=SCHEMA_VERSION, model=model_name, threshold=threshold,
                               results=results)

    @app.post("/v1/annotate", response_class=Response, responses={
        200: {"content": {"image/jpeg": {}}, "description": "the picture with each face's box "
              "and label drawn, as `faceattr predict --annotate` draws it"}, **PREDICT_ERRORS})
    async def annotate(
        file: Annotated[UploadFile, File(description="one image")],
        threshold: Annotated[str, Query(max_length=16, description=(
            "0.5 (default), tuned (per attribute) or a number between 0 and 1"))] = "0.5",
        show: Annotated[str | None, Query(max_length=400, description=(
            "what the labels name, comma-separated: attributes, age, expression"))] = None,
    ) -> Response:
        from faceattr.inference.annotate import check_show, draw, special

        try:
            cut = rec.engine.thresholds(threshold, "the threshold parameter")
            names = check_show(show.split(","), rec.attributes, special(rec)) if show else None
        except FaceAttrError as e:
            raise HTTPException(422, str(e)) from None
        async with read_uploads([file]) as uploads, slots:
            loop = asyncio.get_running_loop()
            found, probs = await loop.run_in_executor(pool, infer, uploads)
            if isinstance(found[0], FaceAttrError):  # unreadable, too big, too many pixels
                raise HTTPException(http_status(found[0]), str(found[0]))
            name, data = uploads[0]
            assert isinstance(data, bytes)  # else found[0] is its error
            res = rec.result(name, found[0], iter(probs), cut)

            def picture() -> bytes:  # drawn at most 2048 px on its longer side
                import io

                from faceattr.preprocess.image import decode_reduced

                image, scale = decode_reduced(data, name, long=2048)
                if max(image.size) > 2048:
                    k = 2048 / max(image.size)
                    image = image.resize((round(image.width * k), round(image.height * k)))
                    scale /= k
                for p in res.faces:
                    p.face = p.face.scaled(1 / scale) if p.face is not None else None
                    p.box = None if p.box is None else \
                        tuple(v / scale for v in p.box)  # type: ignore[assignment]
                out = io.BytesIO()
                draw(image, res, names).save(out, "JPEG", quality=90)
                return out.getvalue()

            jpeg = await loop.run_in_executor(pool, picture)
        return Response(jpeg, media_type="image/jpeg")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 without the offending input: an upload's bytes are never echoed back. A body that
        is not multipart gets 415 and what the endpoint expects; a multipart body without a
        complete ``files`` field (cut short, or named otherwise) says so."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.url.path == "/v1/predict":
            if not kind:  # nothing sent
                return JSONResponse({"detail": "no images: send them as multipart/form-data, "
                                               "one 'files' field per image"}, status_code=422)
            if kind != "multipart/form-data":
                return JSONResponse({"detail": f"send the images as multipart/form-data, one "
                                               f"'files' field per image (got "
                                               f"{kind[:40] or 'no content type'})"},
                                    status_code=415)
            if any("files" in e.get("loc", ()) and "Expected UploadFile" in str(e.get("msg", ""))
                   for e in exc.errors()):
                return JSONResponse({"detail": "a 'files' part is not a file: send each image "
                                               "as a file part, with a filename "
                                               "(curl -F files=@photo.jpg)"}, status_code=422)
            if any(e.get("type") == "missing" and "files" in e.get("loc", ())
                   for e in exc.errors()):
                return JSONResponse({"detail": "no complete 'files' field in the multipart body"
                                               " (cut short, or the field is named otherwise):"
                                               " send each image as a 'files' field"},
                                    status_code=422)
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    app.state.pool, app.state.batcher, app.state.budget = pool, batcher, budget
    return app


def serve(model: str | Path | None, host: str, port: int, workers: int, **detection) -> None:
    """Run the service (``detection``: ``detector``, ``min_face``, ``detector_score``,
    ``detect_size``). The address is checked before the model loads."""
    import socket

    import uvicorn

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except (OSError, UnicodeError) as e:
        raise FaceAttrError(f"cannot listen on --host {host} --port {port}: "
                            f"{getattr(e, 'strerror', None) or e}") from None

    uvicorn.run(create_app(model, workers=workers, **detection), host=host, port=port,
                log_level="info")
