"""Attributes of the faces in a video: per sampled frame, and per track averaged over its frames
(steadier than any single frame). ``Recognizer.predict_video`` and ``faceattr predict`` call
it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from faceattr.inference.batch import by_input
from faceattr.inference.recognizer import Prediction, VideoPlace
from faceattr.inference.tracking import Tracker
from faceattr.preprocess.video import VideoReader


def predict_video(rec, path: str | Path, fps: float = 5.0, batch_size: int = 64,
                  tracker: Tracker | None = None) -> Iterator[Prediction]:
    """One :class:`Prediction` per face per sampled frame (``.video``: time, frame, track),
    then one per track with its probabilities averaged (``.video.frames`` set). A video that
    breaks off gives what it could read, then a prediction with ``error`` set."""
    path = Path(path)
    reader = VideoReader(path, fps)
    tracker = tracker or Tracker()
    frames: deque = deque()

    def images():
        for frame in reader:
            frames.append(frame)
            yield frame.image

    name = str(path)
    for group in by_input(rec.iter_predict(images(), batch_size=batch_size)):
        frame = frames.popleft()
        faces = [p for p in group if p.ok and p.face is not None]
        ids = tracker.update(frame.time, [p.face.box for p in faces])
        for p, track_id in zip(faces, ids):
            track = tracker.get(track_id)
            if not p.skipped:
                track.add(np.array([p.probabilities[a] for a in rec.attributes]))
            p.source = name
            p.video = VideoPlace(frame.time, frame.index, track_id)
            yield p
    cut = dict(zip(rec.attributes, map(float, rec.thresholds)))
    for track in tracker.tracks:
        probs = track.probabilities
        if probs is None:  # only ever too small: nothing to average
            continue
        yield Prediction(name, {a: float(v) for a, v in zip(rec.attributes, probs)},
                         {a: bool(v >= cut[a]) for a, v in zip(rec.attributes, probs)},
                         video=VideoPlace(track.first, None, track.id, track.frames,
                                          track.last))
    if reader.error:
        yield Prediction(name, error=reader.error)
