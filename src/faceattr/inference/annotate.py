"""``--annotate DIR``: copies of the pictures with face boxes and top attributes drawn."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import ImageDraw

from faceattr.preprocess.image import open_image
from faceattr.results import Prediction


def describe(p: Prediction, top: int) -> str:
    """A face's label: its age and expression (models with those tasks), then its ``top``
    most probable present attributes."""
    parts = [f"{p.age:.0f} y" if p.age is not None else "", p.expression or ""]
    head = ", ".join(x for x in parts if x)
    attrs = ", ".join(a.replace("_", " ") for a in p.present[:top])
    return "; ".join(x for x in (head, attrs) if x) or "(none)"


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


def annotate(source: Path, preds: list[Prediction], out: Path, top: int = 4) -> Path:
    """Draw each face's box, landmarks and its ``top`` most probable present attributes into
    the picture file ``out``."""
    image = open_image(source)
    draw = ImageDraw.Draw(image)
    width = max(2, round(min(image.size) / 250))
    placed: list[tuple[float, float, float, float]] = []
    for p in preds:
        if p.face is None:
            continue
        x0, y0, x1, y1 = p.face.box
        colour = (150, 150, 150) if p.skipped else (59, 125, 221)
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        for x, y in p.face.landmarks:
            draw.ellipse((x - width, y - width, x + width, y + width), fill=(255, 80, 80))
        label = f"{p.face_index}: " + ("too small" if p.skipped else describe(p, top))
        tw = draw.textlength(label)
        x0 = max(0, min(x0, image.width - tw - 6))  # the label stays inside the picture
        rect = free_spot((x0, y1, x0 + tw + 6, y1 + 14), placed)
        placed.append(rect)
        draw.rectangle(rect, fill=colour)
        draw.text((rect[0] + 3, rect[1] + 1), label, fill="white")
    out.parent.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(out, "JPEG", quality=92)
    return out


def annotate_video(source: Path, preds: list[Prediction], out: Path, top: int = 3) -> Path:
    """A copy of the video, the file ``out``, with each face's box, track id and its track's
    ``top`` attributes drawn on every frame (the boxes of the latest sampled frame, held until
    the next one)."""
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
                draw = ImageDraw.Draw(image)
                width = max(2, round(min(image.size) / 250))
                for p in frames[times[i]]:
                    assert p.face is not None and p.video is not None  # as collected above
                    x0, y0, x1, y1 = p.face.box
                    colour = (150, 150, 150) if p.skipped else (59, 125, 221)
                    draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
                    summary = tracks.get(p.video.track)
                    label = f"#{p.video.track}: " + (describe(summary, top) if summary is not None
                                                     else "(none)")
                    draw.rectangle((x0, y1, x0 + draw.textlength(label) + 6, y1 + 14),
                                   fill=colour)
                    draw.text((x0 + 3, y1 + 1), label, fill="white")
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
