"""One face's result and one input's result: the records every surface writes.

A :class:`Prediction` is one face (or one input that failed); a :class:`Result` is one input
picture or video with its faces. JSON lines, the HTTP answer and ``to_dict()`` are
:meth:`Prediction.record`; CSV and Parquet rows are :meth:`Prediction.row`, the same record
flattened. ``docs/schema/face.schema.json`` describes a record; every record carries
``"schema": SCHEMA_VERSION``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from faceattr.preprocess.detectors import DetectedFace

SCHEMA_VERSION = 1
BOX = ("box_left", "box_top", "box_right", "box_bottom")
VIDEO = ("time", "frame", "track", "summary", "until", "frames")
AGE = ("age", "age_sd", "age_low", "age_high")


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe_name(name: str) -> str:
    """A file name as written in results: one line of valid UTF-8, and two names never the
    same string. A backslash is written doubled, a newline, carriage return or tab as ``\\n``,
    ``\\r``, ``\\t``, other control characters as ``\\xNN`` and undecodable bytes as
    ``\\udcXX`` (so a file literally named ``\\udcff.jpg`` stays apart from one whose name holds
    the byte 0xff)."""
    out = []
    for c in name:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 32 or ord(c) == 127:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    return "".join(out).encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass
class VideoPlace:
    """Where a video record belongs: a face in a sampled frame (``time``, ``frame``, ``track``),
    or a track's summary (``track``, ``time`` to ``until``, over ``frames`` frames)."""

    time: float | None = None
    frame: int | None = None
    track: int | None = None
    frames: int | None = None  # set on a track's summary: the frames averaged
    until: float | None = None  # a track's last time

    @property
    def summary(self) -> bool:
        return self.frames is not None

    def record(self) -> dict[str, Any]:
        if self.summary:
            return {"track": self.track, "summary": True, "time": self.time,
                    "until": self.until, "frames": self.frames}
        return {"time": self.time, "frame": self.frame, "track": self.track}

    def to_dict(self) -> dict[str, Any]:
        return self.record()


def _r(v: float | None, digits: int) -> float | None:
    return None if v is None else round(float(v), digits)


@dataclass
class Prediction:
    """One face: where it is, its 40 attributes (P(present) and the thresholded decision), and
    (models with those tasks) its age in years and its expression. An input that could not be
    read, or held no face, is one Prediction with ``error`` set."""

    source: str
    probabilities: dict[str, float] = field(default_factory=dict)
    decisions: dict[str, bool] = field(default_factory=dict)
    error: str | None = None  # set when the input could not be read (or held no face)
    face: DetectedFace | None = None  # with detection: where the face was found
    face_index: int = 0
    unreliable: list[str] = field(default_factory=list)  # not to trust here (a grey face)
    video: VideoPlace | None = None  # in a video: when, which frame, which track
    # where the face is in the picture: the detection's box, or without detection the crop's square
    box: tuple[float, float, float, float] | None = None
    age: float | None = None  # years
    age_sd: float | None = None  # years: the uncertainty (calibrated on the val split)
    age_range: tuple[float, float] | None = None  # holds the true age about 80% of the time
    # P(emotion), all eight: the share of people expected to name it (FER+'s ten votes per face)
    expressions: dict[str, float] = field(default_factory=dict)
    likeness: float | None = None  # the aligned face's likeness to the mean face (-1..1)

    @property
    def ok(self) -> bool:
        """The input was read (a skipped face is not a failure, but has no attributes)."""
        return self.error is None

    @property
    def skipped(self) -> str | None:
        """Why this face has no attributes (too small), or None."""
        return self.face.skipped if self.face is not None else None

    @property
    def present(self) -> list[str]:
        """The attributes decided present, most probable first."""
        return sorted((a for a, d in self.decisions.items() if d),
                      key=lambda a: -self.probabilities[a])

    @property
    def expression(self) -> str | None:
        """The most probable expression (None for a model without the expression task)."""
        if not self.expressions:
            return None
        return max(self.expressions, key=lambda e: self.expressions[e])

    @property
    def summary(self) -> bool:
        """A video track's summary (its attributes averaged over the track's frames)."""
        return self.video is not None and self.video.summary

    def where(self) -> tuple[float, float, float, float] | None:
        """The face's box in the picture: the detection's, else the crop's square."""
        if self.face is not None:
            return tuple(float(v) for v in self.face.box)  # type: ignore[return-value]
        return self.box

    def record(self) -> dict[str, Any]:
        """The one record of this face (JSON lines, HTTP, ``to_dict``)."""
        out: dict[str, Any] = {"schema": SCHEMA_VERSION, "file": safe_name(self.source)}
        if self.video is not None:
            out.update(self.video.record())
        if self.error is not None:
            out["error"] = self.error
            return out
        if not self.summary:
            box = self.where()
            out["face"] = self.face_index
            out["box"] = None if box is None else [round(v, 1) for v in box]
            det = self.face
            out["landmarks"] = None if det is None else [[round(float(x), 1), round(float(y), 1)]
                                                         for x, y in det.landmarks]
            out["score"] = None if det is None else round(float(det.score), 4)
            out["turned"] = None if det is None else det.turned
        if self.skipped:
            out["skipped"] = self.skipped
            return out
        if self.likeness is not None:
            out["likeness"] = _r(self.likeness, 3)
        if self.age is not None:
            out["age"] = _r(self.age, 1)
            out["age_sd"] = _r(self.age_sd, 1)
            out["age_range"] = None if self.age_range is None else \
                [_r(self.age_range[0], 1), _r(self.age_range[1], 1)]
        if self.expressions:
            out["expression"] = self.expression
            out["expressions"] = {e: round(float(v), 4) for e, v in self.expressions.items()}
        out["probabilities"] = {a: round(float(v), 5) for a, v in self.probabilities.items()}
        out["decisions"] = dict(self.decisions)
        out["unreliable"] = list(self.unreliable)
        return out

    def to_dict(self) -> dict[str, Any]:
        return self.record()

    def row(self, attributes: Sequence[str], expressions: Sequence[str] = (),
            age: bool = False) -> dict[str, Any]:
        """The record as one flat row (CSV, Parquet): :func:`columns` in that order."""
        return flatten(self.record(), attributes, expressions, age)


def columns(attributes: Sequence[str], expressions: Sequence[str] = (),
            age: bool = False) -> list[str]:
    """The flat columns of a result row, for a model with these attributes, expressions and
    (``age``) an age task."""
    return ["schema", "file", "face", *BOX, "score", "turned", "likeness", "error", "skipped",
            "unreliable", *VIDEO,
            *(AGE if age else ()), *(["expression"] if expressions else []),
            *(f"expression_{e}" for e in expressions),
            *(f"{a}_prob" for a in attributes), *attributes]


def flatten(rec: dict[str, Any], attributes: Sequence[str], expressions: Sequence[str] = (),
            age: bool = False) -> dict[str, Any]:
    """A record (:meth:`Prediction.record`) as a flat row: the box as four columns, the age
    range as ``age_low``/``age_high``, one column per expression, per probability and per
    decision (0/1); what the record lacks is None."""
    row: dict[str, Any] = dict.fromkeys(columns(attributes, expressions, age))
    for k in ("schema", "file", "face", "score", "turned", "likeness", "error", "skipped", *VIDEO,
              "age", "age_sd", "expression"):
        if k in rec and k in row:
            row[k] = rec[k]
    if rec.get("box") is not None:
        row.update(zip(BOX, rec["box"]))
    row["unreliable"] = ";".join(rec.get("unreliable", [])) or None
    if age and rec.get("age_range") is not None:
        row["age_low"], row["age_high"] = rec["age_range"]
    for e, v in rec.get("expressions", {}).items():
        row[f"expression_{e}"] = v
    probs, decisions = rec.get("probabilities", {}), rec.get("decisions", {})
    for a in attributes:
        row[f"{a}_prob"] = probs.get(a)
        row[a] = int(decisions[a]) if a in decisions else None
    return row


@dataclass
class Result:
    """One input (a picture or a video): its faces (:class:`Prediction`, left to right; in a
    video, per sampled frame and then per track), or its error. A video that broke off has
    both: the faces read before the break, and the error."""

    source: str
    faces: list[Prediction] = field(default_factory=list)
    error: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def predictions(self) -> list[Prediction]:
        """The faces, then (if the input failed) one Prediction carrying the error: what the
        line-by-line output formats write."""
        return self.faces + ([Prediction(self.source, error=self.error)] if self.error else [])

    def records(self) -> list[dict[str, Any]]:
        return [p.record() for p in self.predictions()]
