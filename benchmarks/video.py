"""Labelling a video: one minute of 720p at 30 frames/s, sampled at 5 frames/s.

    python benchmarks/video.py [--seconds 60] [--fps 5]

Makes the clip from shared test crops (faces that move, leave and enter, as in
``tests/videos.py``, on a 1280x720 canvas, H.264), then times the whole
``faceattr predict CLIP --fps 5 --format jsonl`` command as a user runs it (model loading
included) and prints the tracks it found.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.videos import make_video

from _common import DATA


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--fps", type=float, default=5.0)
    args = ap.parse_args()
    crops = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))[:3]
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        t0 = time.perf_counter()
        make_video(clip, crops, seconds=args.seconds, fps=30, size=(1280, 720), side=260)
        print(f"made a {args.seconds:.0f} s 1280x720 30 fps H.264 clip "
              f"({clip.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "faceattr", "predict", str(clip), "--fps",
                              str(args.fps), "--format", "jsonl"], capture_output=True,
                             text=True, check=True)
        seconds = time.perf_counter() - t0
    records = [json.loads(line) for line in run.stdout.splitlines()]
    frames = [r for r in records if "frame" in r]
    tracks = [r for r in records if r.get("summary")]
    print(f"`faceattr predict clip.mp4 --fps {args.fps:g}`: {seconds:.1f} s for "
          f"{args.seconds:.0f} s of video ({args.seconds / seconds:.1f}x real time); "
          f"{len(frames)} faces in sampled frames, {len(tracks)} tracks:")
    for t in tracks:
        print(f"  track {t['track']}: {t['first']:.1f}-{t['last']:.1f} s, {t['frames']} frames")


if __name__ == "__main__":
    main()
