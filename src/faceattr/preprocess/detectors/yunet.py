"""YuNet (libfacedetection.train, Apache-2.0): a 323 KB face detector with 5 landmarks, run on
ONNX Runtime with a NumPy decoder. The default detector.

The model (``weights/detectors/yunet_n_dynamic.onnx``; provenance and licence in
``weights/README.md``) takes a BGR float picture (0-255) whose sides are multiples of 32 and
gives, for each stride 8, 16 and 32, one row per grid cell: class and objectness
probabilities, a box (centre offset and log size, in strides) and 5 landmarks (offsets, in
strides).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from faceattr.errors import FaceAttrError
from faceattr.preprocess.detectors.base import DetectedFace, Detector, nms

MODEL = "weights/detectors/yunet_n_dynamic.onnx"
STRIDES = (8, 16, 32)

# Where YuNet's landmarks (eye centres, nose tip, mouth corners; image left first) fall in the
# canonical square, as fractions of its side: measured by tools/calibrate_landmarks.py on
# 972 aligned CelebA training faces (the first 1,000 of aligned-89x109; 28 gave no single face).
YUNET_TEMPLATE = np.array(
    [[0.3762, 0.4361], [0.6213, 0.4350], [0.4966, 0.5883], [0.3960, 0.6973], [0.6083, 0.6959]])


@cache
def _grid(h: int, w: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Column and row index of every cell of a stride's grid, in the model's row-major order."""
    rows, cols = np.divmod(np.arange((h // stride) * (w // stride)), w // stride)
    return cols.astype(np.float32), rows.astype(np.float32)


# A picture under ``size`` px on its longer side is scanned at its own size first (enlarged to
# FIRST_SIZE at least), and enlarged to ``size`` only when that finds no face or a face under
# SMALL_FACE px at that scale (a crowd, whose smaller faces the small scan may miss): a 250 px
# portrait costs a quarter of the pixels, and benchmarks/detectors.py keeps its AP.
FIRST_SIZE, SMALL_FACE = 320, 40

# The way-up check (YuNet._upright): the square around a face, UPRIGHT_MARGIN times its box's
# longer side, scanned at UPRIGHT_SIDE pixels in each of the four turns (at threshold
# UPRIGHT_SCORE). A face is turned only when a turn scores best and at least UPRIGHT_CONFIDENT,
# and only faces at least UPRIGHT_MIN px wide are checked. On the shared WIDER crowd photos the
# best turn alone turned 6 of 163 upright faces of >= 20 px (sunglasses, occluded, blurred) and
# more of the smaller ones, each scoring under 0.85 turned; with these bounds it turns none of
# the 975 faces found there, while 99% of 600 test crops turned 90/180/270 still score over
# 0.85 (benchmarks/turned_faces.py measures the whole effect).
UPRIGHT_MARGIN, UPRIGHT_SIDE, UPRIGHT_SCORE = 1.6, 128, 0.3
UPRIGHT_CONFIDENT, UPRIGHT_MIN = 0.85, 24
TURNS = ((0, None), (90, Image.Transpose.ROTATE_90), (180, Image.Transpose.ROTATE_180),
         (270, Image.Transpose.ROTATE_270))


def _unturn(points: np.ndarray, turn: int, side: int) -> np.ndarray:
    """Points of a ``side``-pixel square turned counter-clockwise by ``turn`` degrees (PIL's
    ``transpose(ROTATE_*)``), in the square before the turn."""
    x, y = points[:, 0], points[:, 1]
    if turn == 90:  # (x, y) -> (y, side - x) was the turn
        return np.stack([side - y, x], 1)
    if turn == 180:
        return np.stack([side - x, side - y], 1)
    if turn == 270:
        return np.stack([y, side - x], 1)
    return points.copy()


class YuNet(Detector):
    """YuNet scans a picture at its own size, within bounds: a picture whose longer side is
    under ``size`` pixels is enlarged to it, one over ``max_size`` reduced to it (so the
    smallest face found is about ``max_size`` / 40 of the longer side). The copy is padded to
    multiples of 32 and decoded with NMS at IoU ``nms``; boxes that lie mostly inside a better
    one are dropped too (``contained``)."""

    name = "yunet"
    template = YUNET_TEMPLATE

    def __init__(self, score: float = 0.6, nms: float = 0.4, size: int = 640,
                 max_size: int = 1280, contained: float = 0.8,
                 model: str | Path | None = None, threads: int = 1,
                 upright: bool = True, first_size: int = FIRST_SIZE) -> None:
        super().__init__(score, nms)
        if not 0.0 <= score <= 1.0:
            raise FaceAttrError(f"YuNet score threshold {score}: must be between 0 and 1")
        if not 0.0 < nms <= 1.0:
            raise FaceAttrError(f"YuNet NMS IoU {nms}: must be over 0 and at most 1")
        if not 64 <= size <= 4096 or not 64 <= max_size <= 4096:
            raise FaceAttrError(f"YuNet scan size {size}..{max_size}: each must be between 64 "
                                "and 4096")
        size = min(size, max_size)
        try:
            import onnxruntime as ort
        except ImportError:
            raise FaceAttrError("the YuNet detector needs onnxruntime: pip install "
                                "onnxruntime") from None
        path = Path(model) if model else Path(str(resources.files("faceattr").joinpath(MODEL)))
        if not path.is_file():
            raise FaceAttrError(f"YuNet model not found: {path}")
        opts = ort.SessionOptions()
        # one thread per call: the face pipeline runs several pictures at once in its threads
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise FaceAttrError(f"{path}: not a YuNet ONNX model "
                                f"({str(e).splitlines()[0][:100]})") from None
        names = [o.name for o in self.session.get_outputs()]
        want = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES]
        if sorted(names) != sorted(want):
            raise FaceAttrError(f"{path}: not a YuNet model (outputs {names})")
        self.outputs = want
        self.size, self.max_size, self.contained = size, max_size, contained
        self.work_side = max_size
        self.upright = bool(upright)
        self.first_size = first_size

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        # a small picture is scanned at its own size first (FIRST_SIZE at least), and enlarged
        # to ``size`` only when that finds no face or a small one (see FIRST_SIZE)
        first = min(self.first_size, self.size)
        faces = self._scan(image, first, self.max_size, self.score)
        long = max(image.size)
        if long < self.size:
            k = min(max(long, first), self.max_size) / long  # the first scan's scale
            if not faces or min(f.width for f in faces) * k < SMALL_FACE:
                faces = self._scan(image, self.size, self.max_size, self.score)
        if self.upright:
            faces = [self._upright(image, f) for f in faces]
        return faces

    def _upright(self, image: Image.Image, face: DetectedFace) -> DetectedFace:
        """The face with the landmarks of the way up it scores best at (YuNet scores a face
        highest upright; on a turned face it places the landmarks as if it were upright): the
        square around the face is scanned as it is and turned by 90, 180 and 270 degrees.
        ``angle`` is then how far the face was turned (counter-clockwise, degrees). Only the
        landmarks change: the box and the score stay the detection's (a turn never lifts a
        doubtful detection over the threshold, nor moves a box)."""
        x0, y0, x1, y1 = face.box
        if x1 - x0 < UPRIGHT_MIN:
            return face
        cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, UPRIGHT_MARGIN * max(x1 - x0, y1 - y0)
        ox, oy = round(cx - side / 2), round(cy - side / 2)
        square = image.crop((ox, oy, round(cx + side / 2), round(cy + side / 2)))
        k = square.width / UPRIGHT_SIDE  # picture pixels per square pixel
        square = square.convert("RGB").resize((UPRIGHT_SIDE, UPRIGHT_SIDE),
                                              Image.Resampling.BILINEAR)
        # the four turns in one batch
        x = np.stack([np.asarray(square.transpose(op) if op is not None else square,
                                 np.float32)[..., ::-1].transpose(2, 0, 1) for _, op in TURNS])
        out = dict(zip(self.outputs, self.session.run(self.outputs, {"input": x})))
        best: tuple[float, int, np.ndarray | None, np.ndarray | None] = (-1.0, 0, None, None)
        c = UPRIGHT_SIDE / 2
        for b, (turn, _) in enumerate(TURNS):
            boxes, points, scores = self._decode(out, UPRIGHT_SIDE, UPRIGHT_SIDE, UPRIGHT_SCORE, b)
            near = (np.abs((boxes[:, 0] + boxes[:, 2]) / 2 - c) < c / 2) & \
                (np.abs((boxes[:, 1] + boxes[:, 3]) / 2 - c) < c / 2)
            if near.any():
                i = int(np.flatnonzero(near)[np.argmax(scores[near])])
                if scores[i] > best[0]:
                    best = (float(scores[i]), turn, boxes[i], points[i])
        score, turn, box, points = best
        if turn == 0 or box is None or points is None or score < UPRIGHT_CONFIDENT:
            return face
        # the turned square's points back into the picture: undo the turn, then the crop; the
        # box and the score stay the detection's own (detection figures are unchanged)
        pts = _unturn(points, turn, UPRIGHT_SIDE) * k + [ox, oy]
        return DetectedFace(face.box, pts, face.score, float((360 - turn) % 360), face.skipped,
                            dict(face.extra))

    def _scan(self, image: Image.Image, size: int, max_size: int,
              threshold: float) -> list[DetectedFace]:
        w, h = image.size
        k = min(max(max(w, h), size), max_size) / max(w, h)
        tw, th = max(1, round(w * k)), max(1, round(h * k))
        pw, ph = -(-tw // 32) * 32, -(-th // 32) * 32
        small = image.convert("RGB").resize((tw, th), Image.Resampling.BILINEAR,
                                            reducing_gap=None if k > 0.5 else 2.0)
        x = np.zeros((1, 3, ph, pw), np.float32)
        x[0, :, :th, :tw] = np.asarray(small, np.float32)[..., ::-1].transpose(2, 0, 1)
        out = dict(zip(self.outputs, self.session.run(self.outputs, {"input": x})))
        boxes, points, scores = self._decode(out, ph, pw, threshold)
        if not len(scores):
            return []
        # a box mostly outside the scanned picture is no face in it (low thresholds find such)
        inside_w = np.clip(np.minimum(boxes[:, 2], tw) - np.maximum(boxes[:, 0], 0), 0, None)
        inside_h = np.clip(np.minimum(boxes[:, 3], th) - np.maximum(boxes[:, 1], 0), 0, None)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        ok = inside_w * inside_h >= 0.5 * area
        boxes, points, scores = boxes[ok], points[ok], scores[ok]
        if not len(scores):
            return []
        keep = nms(boxes, scores, self.nms, self.contained)
        # back to the picture's pixels (the exact factor per axis, as rounding made it)
        fx, fy = w / tw, h / th
        faces = [DetectedFace((boxes[i, 0] * fx, boxes[i, 1] * fy, boxes[i, 2] * fx,
                               boxes[i, 3] * fy),
                              points[i] * [fx, fy], float(scores[i])) for i in keep]
        faces.sort(key=lambda f: (f.box[0], f.box[1]))
        return faces

    def _decode(self, out: dict[str, np.ndarray], h: int, w: int, threshold: float,
                item: int = 0):
        """Boxes (N, 4), landmarks (N, 5, 2) and scores (N,) of the cells over the threshold
        (of picture ``item`` of the batch)."""
        all_boxes, all_points, all_scores = [], [], []
        for s in STRIDES:
            score = np.sqrt(np.clip(out[f"cls_{s}"][item, :, 0] * out[f"obj_{s}"][item, :, 0],
                                    0, 1))
            idx = np.flatnonzero(score >= threshold)
            if not idx.size:
                continue
            cols, rows = _grid(h, w, s)
            c, r = cols[idx], rows[idx]
            b = out[f"bbox_{s}"][item, idx]
            cx, cy = (c + b[:, 0]) * s, (r + b[:, 1]) * s
            bw, bh = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
            all_boxes.append(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1))
            kp = out[f"kps_{s}"][item, idx].reshape(-1, 5, 2)
            all_points.append(np.stack([(c[:, None] + kp[..., 0]) * s,
                                        (r[:, None] + kp[..., 1]) * s], -1))
            all_scores.append(score[idx])
        if not all_scores:
            return np.zeros((0, 4)), np.zeros((0, 5, 2)), np.zeros(0)
        return (np.concatenate(all_boxes).astype(np.float64),
                np.concatenate(all_points).astype(np.float64), np.concatenate(all_scores))
