"""Attributes of the faces in a video: per sampled frame, and per track averaged over its frames
(steadier than any single frame). ``Recognizer.predict_video`` and ``faceattr predict`` call
it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from faceattr.inference.tracking import Track, Tracker
from faceattr.preprocess.video import VideoReader
from faceattr.results import Prediction, Result, VideoPlace


def predict_video(rec, path: str | Path, fps: float = 5.0, batch_size: int = 64,
                  tracker: Tracker | None = None) -> Iterator[Prediction]:
    """One :class:`Prediction` per face per sampled frame (``.video``: time, frame, track),
    then one per track with its probabilities and age averaged and the share of its frames per
    expression (``.video.frames`` set). A video that breaks off gives what it could read, then
    a prediction with ``error`` set."""
    from faceattr.errors import FaceAttrError
    from faceattr.inference.arguments import check_many

    check_many([], batch_size, None)
    if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not 0 < fps < 1000:
        raise FaceAttrError(f"fps {fps!r}: must be a number of frames per second over 0")
    path = Path(path)
    reader = VideoReader(path, fps)
    tracker = tracker or Tracker()
    frames: deque = deque()

    def images():
        for frame in reader:
            frames.append(frame)
            yield frame.image

    name = str(path)
    for res in rec.iter_predict(images(), batch_size=batch_size):
        frame = frames.popleft()
        if frame.scale != 1.0:  # found on the reduced frame: boxes in the video's own pixels
            for p in res.faces:
                if p.face is not None:
                    p.face = p.face.scaled(frame.scale)
                if p.box is not None:
                    p.box = tuple(v * frame.scale for v in p.box)  # type: ignore[assignment]
        faces = [p for p in res.faces if p.face is not None]
        looks = [None if p.skipped else np.array([p.probabilities[a] for a in rec.attributes])
                 for p in faces]
        ids = tracker.update(frame.time, [p.face.box for p in faces], looks)
        for p, track_id, look in zip(faces, ids, looks):
            if look is not None:
                ex = np.array(list(p.expressions.values())) if p.expressions else None
                tracker.get(track_id).add(look, p.age, p.age_sd, ex)
            p.source = name
            p.video = VideoPlace(frame.time, frame.index, track_id)
            yield p
    for track in tracker.tracks:
        if track.probabilities is not None:  # (a track only ever too small has nothing)
            yield track_summary(rec, name, track)
    if reader.error:
        yield Prediction(name, error=reader.error)


def track_summary(rec, name: str, track: Track) -> Prediction:
    """A track's record: its frames' mean probabilities (decided by the model's thresholds),
    mean age and the share of frames per expression."""
    from faceattr.inference.scores import FaceScores

    age, probs = track.age, track.probabilities
    assert probs is not None  # summaries are made of tracks with frames
    scores = FaceScores(probs, None if age is None else age[0], None if age is None else age[1],
                        track.expression_share)
    return rec.prediction(name, scores, video=VideoPlace(track.first, None, track.id,
                                                         track.frames, track.last))


def video_result(rec, path: Path, fps: float, batch_size: int) -> Result:
    """The whole of one video as one :class:`Result` (its faces and tracks; its error)."""
    from faceattr.errors import FaceAttrError

    try:
        preds = list(predict_video(rec, path, fps, batch_size))
    except FaceAttrError as e:
        return Result(str(path), error=str(e))
    except Exception as e:  # the decoder's own failures on a damaged file: this video only
        return Result(str(path), error=f"{path}: not a video we can read "
                                       f"({type(e).__name__}: {str(e)[:80]})")
    errors = [p.error for p in preds if p.error is not None]
    faces = [p for p in preds if p.error is None]
    return Result(str(path), faces, errors[0] if errors else
                  (None if faces else f"{path}: no face found"))
