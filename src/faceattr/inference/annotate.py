"""Faces drawn on their pictures: :func:`draw` (``faceattr.draw``, as insightface's ``draw_on``),
and ``--annotate DIR``'s copies of the pictures and videos."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from faceattr.errors import FaceAttrError
from faceattr.preprocess.faces import ImageInput
from faceattr.preprocess.image import open_image
from faceattr.results import Prediction, Result

SHOW_SPECIAL = ("age", "expression")


def describe(p: Prediction, top: int = 4, show: Sequence[str] | None = None) -> str:
    """A face's label. ``show``: what to name, in order: attribute names (each with its
    probability), ``age`` and ``expression``; by default its age and expression (models with
    those tasks), then its ``top`` most probable present attributes."""
    if show is None:
        parts = [f"{p.age:.0f} y" if p.age is not None else "", p.expression or ""]
        head = ", ".join(x for x in parts if x)
        attrs = ", ".join(a.replace("_", " ") for a in p.present[:top])
        return "; ".join(x for x in (head, attrs) if x) or "(none)"
    out = []
    for name in show:
        if name == "age":
            out.append(f"{p.age:.0f} y" if p.age is not None else "")
        elif name == "expression":
            out.append(p.expression or "")
        elif name in p.probabilities:
            out.append(f"{name.replace('_', ' ')} {p.probabilities[name]:.0%}")
    return ", ".join(x for x in out if x) or "(none)"


def special(rec) -> list[str]:
    """The label names besides attributes that ``rec``'s model can answer."""
    return (["age"] if rec.has_age else []) + (["expression"] if rec.expressions else [])


def check_show(show: Sequence[str], attributes: Sequence[str],
               special: Sequence[str] = SHOW_SPECIAL) -> list[str]:
    """``--show`` names checked against the model's attributes (and ``special``: ``age``,
    ``expression``, those the model has)."""
    known = {a.lower(): a for a in (*attributes, *special)}
    names = [n.strip() for n in show if n.strip()]
    bad = [n for n in names if n.lower() not in known]
    if bad:
        raise FaceAttrError(f"--show {','.join(bad)}: not an attribute of this model (one of "
                            f"{', '.join([*special, *attributes[:4]])}, ...)")
    return [known[n.lower()] for n in names]


def _font(image: Image.Image) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Label type that scales with the picture: 11 px on a 640 px photo, 50 px on 12 MP."""
    size = int(min(64, max(11, round(max(image.size) / 80))))
    return ImageFont.load_default(size=size)


def _wrap(pen: ImageDraw.ImageDraw, label: str, font, width: float) -> str:
    """``label`` broken after its commas into lines no wider than ``width`` (where it can)."""
    lines: list[str] = []
    for word in label.replace(", ", ",\0").replace("; ", ";\0").split("\0"):
        if lines and pen.textlength(lines[-1] + " " + word, font=font) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def draw(image: ImageInput, predictions: Sequence[Prediction] | Result,
         show: Sequence[str] | None = None, top: int = 4,
         label: Callable[[Prediction], str] | None = None, landmarks: bool = True,
         copy: bool = True) -> Image.Image:
    """A copy of ``image`` with each face's box, landmarks and label drawn (as ``--annotate``
    draws them); returns an RGB PIL image. ``show``: what each label names (attribute names,
    ``age``, ``expression``; see :func:`describe`); ``label``: another label per face (a video
    track's); ``copy=False`` draws on ``image`` itself (an RGB PIL image). Faces too small to
    answer are drawn lightly, with no label, so crowds stay readable."""
    from faceattr.preprocess.image import to_pil

    preds = predictions.faces if isinstance(predictions, Result) else list(predictions)
    picture = to_pil(image).copy() if copy or not isinstance(image, Image.Image) else image
    pen = ImageDraw.Draw(picture)
    font = _font(picture)
    line = max(2, round(min(picture.size) / 250))
    pad = max(2, font.size // 4) if isinstance(font, ImageFont.FreeTypeFont) else 2
    placed: list[tuple[float, float, float, float]] = []
    for p in preds:
        box = p.where()
        if box is None or p.error is not None:
            continue
        x0, y0, x1, y1 = box
        if p.skipped:
            pen.rectangle((x0, y0, x1, y1), outline=(170, 170, 170), width=1)
            continue
        colour = (59, 125, 221)
        pen.rectangle((x0, y0, x1, y1), outline=colour, width=line)
        if p.face is not None and landmarks:
            for x, y in p.face.landmarks:
                pen.ellipse((x - line, y - line, x + line, y + line), fill=(255, 80, 80))
        text = label(p) if label is not None else f"{p.face_index}: {describe(p, top, show)}"
        text = _wrap(pen, text, font, picture.width - 2 * pad)
        left, t, r, b = pen.multiline_textbbox((0, 0), text, font=font)
        tw, th = r - left + 2 * pad, b - t + 2 * pad
        x0 = max(0, min(x0, picture.width - tw))  # the label stays inside the picture
        rect = free_spot((x0, y1, x0 + tw, y1 + th), placed)
        placed.append(rect)
        pen.rectangle(rect, fill=colour)
        pen.multiline_text((rect[0] + pad - left, rect[1] + pad - t), text, fill="white",
                           font=font)
    return picture


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def free_spot(rect: tuple[float, float, float, float],
              placed: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    """``rect`` moved down, a line at a time, until it overlaps no label already placed."""
    x0, y0, x1, y1 = rect
    while any(_overlap((x0, y0, x1, y1), q) for q in placed):
        y0, y1 = y0 + (y1 - y0), y1 + (y1 - y0)
    return (x0, y0, x1, y1)


def annotated_names(files: list[Path], out: Path) -> dict[str, Path]:
    """Where ``--annotate OUT`` writes each input: OUT itself for one video named ``*.mp4``;
    else under the folder OUT, the input's path below the inputs' common folder kept
    (``a/x.jpg`` and ``b/x.jpg`` give ``OUT/a/x.annotated.jpg`` and ``OUT/b/x.annotated.jpg``;
    a tar member ``s.tar/1.webp`` gives ``OUT/s.tar/1.annotated.jpg``), a video as
    ``NAME.annotated.mp4``."""
    from faceattr.preprocess.video import is_video_name

    if len(files) == 1 and is_video_name(files[0].name) and is_video_name(out.name):
        return {str(files[0]): out}
    real = [Path(os.path.abspath(f)) for f in files]
    common = Path(os.path.commonpath([str(r.parent) for r in real])) if real else Path()
    names = {}
    for f, r in zip(files, real):
        rel = r.relative_to(common)
        ext = ".annotated.mp4" if is_video_name(f.name) else ".annotated.jpg"
        names[str(f)] = out / rel.parent / (rel.stem + ext)
    return names


def annotate(source: Path, preds: list[Prediction], out: Path, top: int = 4,
             show: Sequence[str] | None = None) -> Path:
    """:func:`draw` the faces of the picture file ``source`` into the JPEG ``out``."""
    picture = draw(open_image(source), preds, show, top)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out, "JPEG", quality=92)
    return out


def annotate_video(source: Path, preds: list[Prediction], out: Path, top: int = 3,
                   show: Sequence[str] | None = None) -> Path:
    """A copy of the video, the file ``out``, with each face's box, track id and its track's
    label (:func:`describe`) drawn on every frame (the boxes of the latest sampled frame, held
    until the next one)."""
    import bisect
    from fractions import Fraction

    import av

    target = out
    target.parent.mkdir(parents=True, exist_ok=True)
    tracks = {p.video.track: p for p in preds if p.video is not None and p.video.frames}
    frames: dict[float, list[Prediction]] = {}
    for p in preds:
        if p.video is not None and p.video.time is not None and p.video.frames is None \
                and p.face is not None:
            frames.setdefault(p.video.time, []).append(p)
    times = sorted(frames)

    def track_label(p: Prediction) -> str:
        """``#TRACK: `` and the face's track's label (its summary's)."""
        assert p.video is not None  # as collected above
        summary = tracks.get(p.video.track)
        return f"#{p.video.track}: " + (describe(summary, top, show) if summary is not None
                                        else "(none)")

    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        stream = src.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or 30
        enc = dst.add_stream("libx264", rate=rate)
        enc.pix_fmt = "yuv420p"
        # every frame keeps its own time (a variable-frame-rate phone clip lasts as long as
        # its source), in milliseconds
        clock = Fraction(1, 1000)
        enc.codec_context.time_base = clock
        last_pts, start = -1, None
        size: tuple[int, int] | None = None
        for k, frame in enumerate(src.decode(stream)):
            t = float(frame.time) if frame.time is not None else k / float(rate)
            image = frame.to_image()
            rotation = int(getattr(frame, "rotation", 0) or 0) % 360
            if rotation:  # upright, as the boxes were found (preprocess/video.py)
                image = image.rotate(rotation, expand=True)
            if size is None:  # H.264 in 4:2:0 wants even sides: an odd last column is cut
                size = (image.width - image.width % 2, image.height - image.height % 2)
                enc.width, enc.height = size
            i = bisect.bisect_right(times, t + 1e-6) - 1
            if i >= 0:
                draw(image, frames[times[i]], label=track_label, landmarks=False, copy=False)
            if image.size != size:
                image = image.crop((0, 0, *size))
            out_frame = av.VideoFrame.from_image(image)
            start = t if start is None else start
            last_pts = max(last_pts + 1, round((t - start) / clock))
            out_frame.pts, out_frame.time_base = last_pts, clock
            for packet in enc.encode(out_frame):
                dst.mux(packet)
        for packet in enc.encode():
            dst.mux(packet)
    return target
