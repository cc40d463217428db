"""Frames of a video file, sampled at a given rate, decoded by PyAV (FFmpeg with its codecs
bundled; the ``faceattr[video]`` extra)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from faceattr.errors import FaceAttrError

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})


def is_video_name(name: str) -> bool:
    return Path(name).suffix.lower() in VIDEO_EXTENSIONS


def _av():
    try:
        import av
    except ImportError:
        raise FaceAttrError("reading videos needs PyAV: pip install 'faceattr[video]'") from None
    return av


# Frames are held at most this long on their longer side (the detector's largest scan size):
# a 4K frame is 25 MB as RGB, 128 of them in flight were 3 GB; at 1280 px they are 2.8 MB.
MAX_SIDE = 1280


@dataclass
class Frame:
    """One sampled frame: its index in the file, its time (s) and its picture, upright (the
    stream's rotation applied) and reduced to at most ``MAX_SIDE``; ``scale``: the upright
    full frame's size over the picture's (boxes found on it are multiplied by it)."""

    index: int
    time: float
    image: Image.Image
    scale: float = 1.0


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: float
    duration: float | None  # seconds, when the container says


class VideoReader:
    """Iterate the frames of ``path`` at ``fps`` samples per second (the file's own rate when
    lower). A broken or truncated file yields the frames it could decode; :attr:`error` then
    says what stopped it."""

    def __init__(self, path: str | Path, fps: float = 5.0, max_side: int = MAX_SIDE) -> None:
        if fps <= 0:
            raise FaceAttrError(f"--fps {fps}: must be over 0")
        self.path, self.fps, self.max_side = Path(path), fps, max_side
        self.error: str | None = None
        av = _av()
        if not self.path.is_file():
            raise FaceAttrError(f"{self.path}: no such file")
        try:
            self._container = av.open(str(self.path))
            self._stream = self._container.streams.video[0]
        except IndexError:
            raise FaceAttrError(f"{self.path}: no video stream in the file (audio only?)") \
                from None
        except (av.FFmpegError, OSError, UnicodeDecodeError, AttributeError, ValueError) as e:
            raise FaceAttrError(f"{self.path}: not a video we can read "
                                f"({str(e).splitlines()[0][:80] if str(e) else type(e).__name__})"
                                ) from None
        s = self._stream
        s.thread_type = "AUTO"  # decode with frame threads
        rate = float(s.average_rate or s.guessed_rate or 30)
        duration = (float(s.duration * s.time_base) if s.duration and s.time_base
                    else (self._container.duration / 1e6 if self._container.duration else None))
        self.info = VideoInfo(s.codec_context.width, s.codec_context.height, rate, duration)

    def _frame(self, frame, index: int, t: float) -> Frame:
        """The decoded frame reduced in FFmpeg's scaler (never held at full size as RGB) and
        turned upright by the stream's display rotation (a phone's portrait video is stored
        sideways, as EXIF rotates a photo)."""
        w, h = frame.width, frame.height
        k = min(1.0, self.max_side / max(w, h))
        if k < 1.0:
            frame = frame.reformat(width=max(2, round(w * k)), height=max(2, round(h * k)),
                                   format="rgb24")
        image = frame.to_image()
        rotation = int(getattr(frame, "rotation", 0) or 0) % 360
        if rotation:  # the display matrix turns the picture counter-clockwise by this much
            image = image.rotate(rotation, expand=True)
        return Frame(index, round(t, 3), image, max(w, h) / max(image.size))

    def __iter__(self) -> Iterator[Frame]:
        av = _av()
        step = 1.0 / self.fps
        next_time = 0.0
        index, t = -1, 0.0
        try:
            for frame in self._container.decode(self._stream):
                index += 1
                t = float(frame.time) if frame.time is not None else index / self.info.fps
                if t + 1e-6 < next_time:
                    continue
                next_time = max(next_time + step, t + step / 2)
                yield self._frame(frame, index, t)
        except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError, AttributeError) as e:
            what = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
            where = (f"breaks off after frame {index}" if index >= 0
                     else "breaks off before its first frame")
            self.error = (f"{self.path}: the video {where} ({what})"
                          + ("; the frames before it were read" if index >= 0 else ""))
        else:  # the decoder stopped quietly: a file cut short ends before its stated length
            d = self.info.duration
            if d and t < d - max(0.5, 2 / self.info.fps):
                self.error = (f"{self.path}: the video breaks off at {t:.1f} s of its {d:.1f} s "
                              "(cut short?); the frames before were read")
        finally:
            self._container.close()
