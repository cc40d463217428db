"""Video files: frames sampled, faces tracked (one id per face through a move, a new id after a
face leaves and another enters), per-frame and per-track records, annotation, broken files."""

import csv
import io
import json
from itertools import pairwise

import numpy as np
import pytest

from faceattr import FaceAttrError, Recognizer
from faceattr.cli import main

from .conftest import TEST_CROPS
from .videos import make_video

av = pytest.importorskip("av", reason="pip install 'faceattr[video]'")
CROPS = sorted(TEST_CROPS.glob("*.jpg"))[:3]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    in_view = make_video(path, CROPS, seconds=6.0)
    return path, in_view


@pytest.fixture(scope="module")
def preds(clip):
    return Recognizer().predict_video(clip[0], fps=5)


def test_tracks_keep_their_id_and_new_faces_get_new_ones(clip, preds):
    _, in_view = clip
    frames = [p for p in preds if p.video.frames is None]
    tracks = [p for p in preds if p.video.frames]
    assert len(tracks) == 3  # the walker, the one who leaves, the one who enters
    by_id = {t.video.track: t for t in tracks}
    for face, (first, last) in in_view.items():
        # the track whose time span matches this face's time in view
        match = [t for t in tracks if abs(t.video.time - first) <= 0.4
                 and abs(t.video.until - last) <= 0.5]
        assert len(match) == 1, (face, [(t.video.time, t.video.until) for t in tracks])
    walker = max(tracks, key=lambda t: t.video.frames)
    boxes = [p.face.box for p in frames if p.video.track == walker.video.track]
    assert boxes[-1][0] - boxes[0][0] > 250  # it moved, and kept one id all the way
    assert len(boxes) == walker.video.frames == 30  # 6 s at 5 frames/s
    times = sorted({p.video.time for p in frames})
    assert times[0] == 0.0 and all(0.19 < b - a < 0.21 for a, b in pairwise(times))
    assert set(by_id) == {0, 1, 2}


def test_tracker_matches_by_overlap_and_time_gap_each_on_its_own():
    from faceattr.inference.tracking import Tracker

    box = (0.0, 0.0, 100.0, 100.0)

    def shifted(iou):  # a box of the same size overlapping `box` by exactly `iou`
        dx = 100 * (1 - iou) / (1 + iou)
        return (dx, 0.0, 100 + dx, 100.0)

    for iou, gap, same in [(0.35, 0.5, True), (0.25, 0.5, False),  # overlap alone decides
                           (0.9, 0.9, True), (0.9, 1.1, False)]:  # the time gap alone decides
        t = Tracker(min_iou=0.3, max_gap=1.0)
        first = t.update(0.0, [box])
        assert (t.update(gap, [shifted(iou)]) == first) is same, (iou, gap)
    t = Tracker()
    assert t.update(0.0, [box, (300.0, 0.0, 400.0, 100.0)]) == [0, 1]
    assert t.update(0.2, [(305.0, 0.0, 405.0, 100.0), (2.0, 0.0, 102.0, 100.0)]) == [1, 0]


def test_track_probabilities_are_the_mean_of_its_frames(preds):
    import numpy as np

    track = next(p for p in preds if p.video.frames)
    own = [p for p in preds if p.video.frames is None and p.video.track == track.video.track]
    for a in ("Smiling", "Male"):
        assert track.probabilities[a] == pytest.approx(np.mean([p.probabilities[a] for p in own]))


def test_cli_jsonl_csv_and_table(clip, tmp_path, capsys):
    path, _ = clip
    assert main(["predict", str(path), "--format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    frame = next(r for r in records if "frame" in r)
    assert {"time", "frame", "track", "box", "probabilities"} <= set(frame)
    summary = [r for r in records if r.get("summary")]
    assert len(summary) == 3 and all({"time", "until", "frames"} <= set(r) for r in summary)
    out = tmp_path / "v.csv"
    assert main(["predict", str(path), "--output", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sum(1 for r in rows if r["frames"]) == 3 and rows[0]["time"] == "0.0"
    capsys.readouterr()
    assert main(["predict", str(path), "--output", str(out)]) == 0  # done: not redone
    assert "1 inputs already in" in capsys.readouterr().err
    assert main(["predict", str(path)]) == 0
    table = capsys.readouterr().out
    assert table.count(" track ") == 3 and "frames)" in table


def test_annotated_video(clip, tmp_path):
    path, _ = clip
    out = tmp_path / "ann.mp4"
    assert main(["predict", str(path), "--annotate", str(out), "--format", "jsonl"]) == 0
    with av.open(str(out)) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n == 180  # every frame of the 6 s at 30 frames/s, boxes drawn


def test_folder_mixing_photos_and_videos(clip, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(clip[0].read_bytes())
    (folder / "face.jpg").write_bytes(CROPS[0].read_bytes())
    assert main(["predict", str(folder), "--format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["file"].rsplit("/", 1)[-1] for r in records} == {"clip.mp4", "face.jpg"}


def test_broken_and_truncated_videos(clip, tmp_path, capsys):
    # a stream cut short (Matroska: readable up to the cut) gives its frames and says so
    mkv = tmp_path / "clip.mkv"
    make_video(mkv, CROPS, seconds=4.0)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(mkv.read_bytes()[: mkv.stat().st_size // 2])
    preds = Recognizer().predict_video(cut)
    assert any(p.video and p.video.frames for p in preds)  # tracks from what was read
    rc = main(["predict", str(cut), "--format", "jsonl"])
    out = capsys.readouterr()
    assert rc == 1 and "breaks off" in out.err and "Traceback" not in out.err
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(FaceAttrError, match="junk.mp4: not a video we can read"):
        Recognizer().predict_video(junk)
    assert main(["predict", str(junk), "--format", "jsonl"]) == 1
    assert "not a video we can read" in capsys.readouterr().err


def test_missing_pyav_is_one_line(clip, monkeypatch, capsys):
    import faceattr.preprocess.video as video

    def missing():
        raise FaceAttrError("reading videos needs PyAV: pip install 'faceattr[video]'")

    monkeypatch.setattr(video, "_av", missing)
    assert main(["predict", str(clip[0])]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: reading videos needs PyAV: pip install 'faceattr[video]'"


def test_a_hard_cut_between_two_people_at_one_spot_gives_two_tracks(tmp_path):
    """Six people one after another at the same place, a hard cut each second: one track per
    person (the boxes overlap across each cut; their attributes do not)."""
    from .videos import make_cuts

    crops = sorted(TEST_CROPS.glob("*.jpg"))[10:16]
    spans = make_cuts(tmp_path / "cuts.mp4", crops)
    rec = Recognizer()
    tracks = [p for p in rec.predict_video(tmp_path / "cuts.mp4") if p.summary]
    tracks = [t for t in tracks if t.video.frames >= 3]  # (a stray one-frame detection aside)
    assert len(tracks) == len(crops)
    for t, (start, end) in zip(sorted(tracks, key=lambda p: p.video.time), spans):
        assert start - 0.01 <= t.video.time and t.video.until < end
        assert t.video.frames >= 4  # 5 sampled frames a second, a face in each
    # the same person keeps one track however long: the walking faces above have one each
    from faceattr.inference.tracking import Tracker

    tracker = Tracker()
    look = np.full(40, 0.3)
    assert tracker.update(0.0, [(0, 0, 10, 10)], [look]) == [0]
    tracker.get(0).add(look)
    assert tracker.update(0.2, [(1, 0, 11, 10)], [look + 0.05]) == [0]  # within the bound
    assert tracker.update(0.4, [(1, 0, 11, 10)], [look + 0.2]) == [1]  # someone else
