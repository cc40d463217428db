"""Faces tracked across frames: a face keeps its id while it moves (boxes matched by overlap
from one sampled frame to the next) and looks the same (its attribute probabilities close to
its track's mean), and a new id starts when a face appears, or when another person takes its
place (a hard cut between two people at the same spot)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from faceattr.preprocess.detectors.base import iou_matrix


@dataclass
class Track:
    id: int
    box: tuple[float, float, float, float]
    first: float
    last: float
    frames: int = 0
    prob_sum: np.ndarray | None = None
    age_sum: float = 0.0
    age_sd_sum: float = 0.0
    aged: int = 0  # frames with an age
    expression_count: np.ndarray | None = None  # frames per most probable expression

    def add(self, probs: np.ndarray | None, age: float | None = None,
            age_sd: float | None = None, expressions: np.ndarray | None = None) -> None:
        if probs is None:
            return
        self.prob_sum = probs.astype(np.float64) if self.prob_sum is None \
            else self.prob_sum + probs
        self.frames += 1
        if age is not None:
            self.age_sum += age
            self.age_sd_sum += age_sd or 0.0
            self.aged += 1
        if expressions is not None:
            if self.expression_count is None:
                self.expression_count = np.zeros(len(expressions))
            self.expression_count[int(np.argmax(expressions))] += 1

    @property
    def probabilities(self) -> np.ndarray | None:
        return None if self.prob_sum is None else self.prob_sum / self.frames

    @property
    def age(self) -> tuple[float, float] | None:
        """Mean age over the track's frames, and the mean of their uncertainties."""
        return (self.age_sum / self.aged, self.age_sd_sum / self.aged) if self.aged else None

    @property
    def expression_share(self) -> np.ndarray | None:
        """The share of the track's frames in which each expression was the most probable."""
        c = self.expression_count
        return None if c is None else c / c.sum()


# The largest change of appearance a track takes: the mean absolute difference between a face's
# 40 attribute probabilities and its track's mean. On a clip of 40 test crops shown one after
# another at the same spot (a hard cut every second, 5 frames/s sampled) the same face changed by
# at most 0.054 from frame to frame, a cut by at least 0.080 (tests/test_video.py makes such a
# clip). Turning heads and changing expressions change a face more than that clip does, so the
# bound sits nearer the cuts.
MAX_CHANGE = 0.075


@dataclass
class Tracker:
    """Greedy IoU matching between this frame's faces and the tracks seen within ``max_gap``
    seconds; a match needs IoU of at least ``min_iou`` (at 5 frames/s a walking face moves far
    less than its width between samples) and, for a face with attributes, an appearance within
    ``max_change`` of the track's (:data:`MAX_CHANGE`)."""

    min_iou: float = 0.3
    max_gap: float = 1.0
    max_change: float = MAX_CHANGE
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 0

    def update(self, time: float, boxes: list[tuple[float, float, float, float]],
               looks: list[np.ndarray | None] | None = None) -> list[int]:
        """The track id of each box at ``time`` (``looks``: each face's attribute
        probabilities, None for a face without them)."""
        live = [t for t in self.tracks if time - t.last <= self.max_gap]
        ids = [-1] * len(boxes)
        if live and boxes:
            iou = iou_matrix(np.asarray(boxes, np.float64),
                             np.asarray([t.box for t in live], np.float64))
            for i, look in enumerate(looks or []):
                for j, t in enumerate(live):
                    mean = t.probabilities
                    if look is not None and mean is not None and \
                            float(np.abs(look - mean).mean()) > self.max_change:
                        iou[i, j] = -1  # someone else at the same spot
            while True:
                i, j = (int(v) for v in np.unravel_index(np.argmax(iou), iou.shape))
                if iou[i, j] < self.min_iou:
                    break
                ids[i] = live[j].id
                live[j].box, live[j].last = boxes[i], time
                iou[i, :], iou[:, j] = -1, -1
        for i, b in enumerate(boxes):
            if ids[i] < 0:
                track = Track(self.next_id, b, time, time)
                self.tracks.append(track)
                ids[i] = track.id
                self.next_id += 1
        return ids

    def get(self, track_id: int) -> Track:
        return self.tracks[track_id]
