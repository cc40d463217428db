"""Batch prediction over a collection: resumable output after kill -9, --files-from, Parquet,
and the refusal of an output made with other settings."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faceattr.cli import main

from .conftest import TEST_CROPS, copy_images

N = 600

pytestmark = pytest.mark.shared  # needs hundreds of test crops / the tar shards


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("collection")
    copy_images(TEST_CROPS, folder / "a", N // 2)
    copy_images(TEST_CROPS, folder / "b", N // 2, start=N // 2)
    return folder


def predict_cmd(inputs, out, fmt, *extra) -> list[str]:
    return [sys.executable, "-m", "faceattr", "predict", *map(str, inputs), "--no-detect",
            "--format", fmt, "--output", str(out), *extra]


def complete_lines(out: Path) -> str:
    """A text output up to its last newline: a kill -9 during a write can leave a last line
    cut short, which a resume drops and does again (so a reader should too)."""
    data = out.read_bytes()
    return data[:data.rfind(b"\n") + 1].decode("utf-8")


def records(out: Path, fmt: str) -> dict[tuple[str, int], dict]:
    """(file, face) -> record, from any of the three formats (complete lines only)."""
    if fmt == "jsonl":
        rows = [json.loads(line) for line in complete_lines(out).splitlines()]
        return {(r["file"], r.get("face", 0)): r for r in rows}
    if fmt == "csv":
        rows = csv.DictReader(io.StringIO(complete_lines(out), newline=""))
        return {(r["file"], int(r["face"])): r for r in rows}
    import pyarrow.parquet as pq

    rows = pq.read_table(out).to_pylist()
    return {(r["file"], r["face"]): r for r in rows}


ENV = {**os.environ, "FACEATTR_FLUSH_SECONDS": "0.1", "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_result(collection, tmp_path, fmt):
    ext = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ""}[fmt]
    full, part = tmp_path / f"full{ext}", tmp_path / f"part{ext}"
    subprocess.run(predict_cmd([collection], full, fmt), check=True, env=ENV,
                   capture_output=True, timeout=600)
    proc = subprocess.Popen(predict_cmd([collection], part, fmt), env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def written() -> int:
        if fmt == "parquet":
            return len(list(part.glob("part-*.parquet"))) if part.is_dir() else 0
        return part.stat().st_size if part.exists() else 0

    deadline = time.monotonic() + 300
    while written() < (2 if fmt == "parquet" else 20_000):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = records(part, fmt)
    assert 0 < len(partial) < N, "the run was not killed mid-way"
    r = subprocess.run(predict_cmd([collection], part, fmt), env=ENV, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"{len(partial)} inputs already in" in r.stderr
    a, b = records(full, fmt), records(part, fmt)
    assert a.keys() == b.keys() and len(a) == N  # nothing lost, nothing twice
    if fmt == "jsonl":
        assert sum(1 for _ in part.read_text().splitlines()) == N
    for key in a:
        ra, rb = a[key], b[key]
        probs_a = ra["probabilities"] if fmt == "jsonl" else {k: v for k, v in ra.items()
                                                               if k.endswith("_prob")}
        probs_b = rb["probabilities"] if fmt == "jsonl" else {k: v for k, v in rb.items()
                                                               if k.endswith("_prob")}
        assert probs_a.keys() == probs_b.keys()
        assert all(abs(float(probs_a[k]) - float(probs_b[k])) <= 1e-5 for k in probs_a)


def test_files_from_a_list_and_stdin(collection, tmp_path, capsys):
    files = sorted((collection / "a").glob("*.jpg"))[:5]
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(map(str, files)) + "\n\n")
    out = tmp_path / "r.jsonl"
    assert main(["predict", "--files-from", str(listing), "--no-detect", "--format", "jsonl",
                 "--output", str(out)]) == 0
    assert [json.loads(x)["file"] for x in out.read_text().splitlines()] == list(map(str, files))
    r = subprocess.run([sys.executable, "-m", "faceattr", "predict", "--files-from", "-",
                        "--no-detect", "--format", "csv", "--summary"],
                       input="\n".join(map(str, files[:2])), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 3
    assert "prevalence over 2 faces" in r.stderr and "done: 2 images, 2 faces" in r.stderr
    assert main(["predict", "--files-from", str(tmp_path / "nope.txt")]) == 2
    assert "--files-from" in capsys.readouterr().err


def test_parquet_and_mismatched_outputs(collection, tmp_path, capsys):
    files = [str(f) for f in sorted((collection / "b").glob("*.jpg"))[:4]]
    out = tmp_path / "r.parquet"
    assert main(["predict", *files, "--no-detect", "--format", "parquet", "--output",
                 str(out)]) == 0
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert table.num_rows == 4 and table.column("file").to_pylist() == files
    assert {"face", "box_left", "error", "Smiling_prob", "Smiling"} <= set(table.column_names)
    # the same output with another threshold: refused, untouched; --overwrite starts over
    rc = main(["predict", *files, "--no-detect", "--format", "parquet", "--output", str(out),
               "--threshold", "tuned"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "made with other settings (threshold: 0.5 -> tuned)" in err
    assert pq.read_table(out).num_rows == 4
    assert main(["predict", *files[:2], "--no-detect", "--format", "parquet", "--output",
                 str(out), "--threshold", "tuned", "--overwrite"]) == 0
    assert pq.read_table(out).num_rows == 2
    assert main(["predict", *files, "--no-detect", "--format", "parquet"]) == 2
    assert "give --output DIR" in capsys.readouterr().err


@pytest.mark.distributed
@pytest.mark.slow
def test_ray_gives_the_single_process_results(collection, tmp_path):
    """``--ray`` on a local Ray instance with 2 CPUs: the same rows as one process, 200 images
    and a broken one (its row carries the error, and both exit with 1)."""
    pytest.importorskip("ray")
    import pyarrow.parquet as pq

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    files = sorted((collection / "a").glob("*.jpg"))[:100] + sorted(
        (collection / "b").glob("*.jpg"))[:100] + [broken]
    listing = tmp_path / "files.txt"
    listing.write_text("\n".join(str(f.resolve()) for f in files))
    single, on_ray = tmp_path / "single", tmp_path / "ray"
    assert main(["predict", "--files-from", str(listing), "--no-detect", "--format", "parquet",
                 "--output", str(single)]) == 1
    code = ("import ray, sys; ray.init(num_cpus=2, log_to_driver=False, configure_logging=False)"
            "\nfrom faceattr.cli import main\n"
            f"sys.exit(main(['predict', '--files-from', {str(listing)!r}, '--no-detect', "
            f"'--ray', '--output', {str(on_ray)!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=900, env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    assert r.returncode == 1, r.stderr[-2000:]
    assert "1 of 201 inputs failed" in r.stderr
    a = {row["file"]: row for row in pq.read_table(single).to_pylist()}
    b = {row["file"]: row for row in pq.read_table(on_ray).to_pylist()}
    assert a.keys() == b.keys() and len(a) == 201
    assert "broken.jpg" in b[str(broken.resolve())]["error"]
    for f, row in a.items():
        other = b[f]
        assert all(row[k] == other[k] for k in row if not k.endswith("_prob"))
        assert all(abs(row[k] - other[k]) <= 1e-5 for k in row
                   if k.endswith("_prob") and row[k] is not None)
