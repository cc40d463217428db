"""``faceattr prepare``: decode, frame and resize a dataset once into a memory-mapped cache.

Layout of a cache folder::

    meta.json    settings, attributes, file list, fingerprints, completion flag
    images.u8    uint8 array (N, size, size, 3), memory-mapped
    labels.npy   uint8 array (N, A) of 0/1 labels
    age.npy, expression.npy, gender.npy, race.npy   age / expression sets: float32 (N,) years,
                 float32 (N, 8) votes, int64 (N,) groups (only the ones the label file has)
    status.u8    one byte per image: 0 = not yet done, 1 = cached, 2 = unreadable (skipped)

The cache is written in chunks and ``status.u8`` is flushed after each, so an interrupted
``prepare`` resumes where it stopped. A cache whose sources or settings changed is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from faceattr._workers import process_pool
from faceattr.data.dataset import Dataset
from faceattr.errors import FaceAttrError
from faceattr.preprocess.faces import frame_files
from faceattr.storage.shards import source_stat

FORMAT = "faceattr-cache/1"
PENDING, CACHED, FAILED = 0, 1, 2
CHUNK = 256
TARGETS = ("age", "expression", "gender", "race")  # optional per-image label arrays


def _settings(ds: Dataset, size: int, detector: str | None = None) -> dict:
    return {"format": FORMAT, "size": size, "framing": ds.framing.to_dict(),
            **({"detector": detector} if detector else {})}


def _sources_fingerprint(ds: Dataset) -> str:
    h = hashlib.sha256()
    spec = ds.spec
    for p in (spec.labels, spec.partition):
        if p is not None:
            st = p.stat()
            h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    h.update(f"split={spec.split}\n".encode())
    for rel in ds.files:
        size, mtime = source_stat(spec.images / rel)
        h.update(f"{rel}|{size}|{mtime}\n".encode())
    return h.hexdigest()


@dataclass
class PrepareSummary:
    cached: int
    skipped: int
    seconds: float
    resumed_from: int
    failures: list[str]
    fallback: int = 0  # with a detector: images with no face, framed by the dataset framing

    def line(self, out: Path) -> str:
        if self.resumed_from == self.cached + self.skipped:
            return f"{out}: up to date ({self.cached} images cached, {self.skipped} skipped)"
        extra = f", resumed after {self.resumed_from}" if self.resumed_from else ""
        if self.fallback:
            extra += (f", no face found in {self.fallback} (each read whole, as a face crop of "
                      "the framing)")
        return (f"{out}: {self.cached} images cached, {self.skipped} skipped, "
                f"{self.seconds:.1f} s{extra}")


def _write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj), encoding="utf-8")
    os.replace(tmp, path)


def prepare(ds: Dataset, out: Path, size: int = 64, workers: int | None = None,
            force: bool = False, progress: bool = True,
            detector: str | None = None) -> PrepareSummary:
    """Build (or finish building) the cache for ``ds`` in ``out``: every image through the face
    pipeline, by the dataset framing or (``detector``) by its widest face found."""
    t0 = time.perf_counter()
    out = Path(out)
    settings = _settings(ds, size, detector)
    fingerprint = _sources_fingerprint(ds)
    meta_path = out / "meta.json"
    n = len(ds)
    if meta_path.exists() and not force:
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if old.get("settings") != settings:
            was, now = old.get("settings", {}), settings
            diff = ", ".join(f"{k}: {was.get(k)} -> {now[k]}" for k in now if was.get(k) != now[k])
            raise FaceAttrError(f"cache {out} was built with other settings ({diff}); "
                                "pass --force to rebuild")
        if old.get("sources") != fingerprint:
            raise FaceAttrError(f"cache {out} is stale: its source images or label files changed "
                                "since it was built; pass --force to rebuild")
    elif out.exists() and any(out.iterdir()) and not meta_path.exists() and not force:
        raise FaceAttrError(f"{out} exists and is not a faceattr cache; choose an empty folder")
    fresh = force or not meta_path.exists()
    out.mkdir(parents=True, exist_ok=True)
    if fresh:
        for name in ("images.u8", "status.u8", "labels.npy", "meta.json", *TARGETS):
            (out / f"{name}.npy" if name in TARGETS else out / name).unlink(missing_ok=True)
        meta = {"settings": settings, "sources": fingerprint, "complete": False,
                "attributes": list(ds.attributes), "files": ds.files,
                "images_root": str(ds.spec.images.resolve()), "labels": str(ds.spec.labels),
                "partition": str(ds.spec.partition) if ds.spec.partition else None,
                "split": ds.spec.split, "failures": {}}
        np.save(out / "labels.npy", ds.labels)
        for name, arr in ds.targets.items():
            np.save(out / f"{name}.npy", arr)
        np.memmap(out / "images.u8", np.uint8, "w+", shape=(n, size, size, 3)).flush()
        np.zeros(n, np.uint8).tofile(out / "status.u8")
        _write_json_atomic(meta_path, meta)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if not fresh:
        repair(out, ds, n, size)
    images = np.memmap(out / "images.u8", np.uint8, "r+", shape=(n, size, size, 3))
    status = np.memmap(out / "status.u8", np.uint8, "r+", shape=(n,))
    todo = np.flatnonzero(status == PENDING)
    resumed_from = n - len(todo)
    if meta.get("complete") and not len(todo):
        progress = False  # up to date: nothing to do
    chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
    root = str(ds.spec.images)
    jobs: list[tuple[Any, ...]] = [(root, [ds.files[j] for j in c], ds.framing.to_dict(), size,
                                    detector, {}) for c in chunks]
    workers = workers or min(8, os.cpu_count() or 1)
    failures: dict[str, str] = dict(meta.get("failures", {}))
    fallback = int(meta.get("fallback", 0))
    bar = tqdm(total=n, initial=resumed_from, unit="img", disable=not progress,
               desc=f"prepare {out.name}")
    with process_pool(workers) as pool:
        for idx, (arr, errs, fell) in zip(chunks, pool.map(frame_files, jobs)):
            fallback += sum(fell)
            images[idx] = arr
            images.flush()
            for j, err in zip(idx, errs):
                if err is not None:
                    failures[ds.files[j]] = err
            status[idx] = [CACHED if e is None else FAILED for e in errs]
            status.flush()
            bar.update(len(idx))
    bar.close()
    meta["failures"] = failures
    meta["fallback"] = fallback
    meta["complete"] = True
    _write_json_atomic(meta_path, meta)
    cached = int((status == CACHED).sum())
    return PrepareSummary(cached, int((status == FAILED).sum()), time.perf_counter() - t0,
                          resumed_from, sorted(failures.values()), fallback)


def repair(out: Path, ds: Dataset, n: int, size: int) -> None:
    """Check an existing cache's files against its metadata and mark what is damaged to be
    redone: rows past a cut ``images.u8`` (all rows when ``status.u8`` is damaged); labels and
    targets that do not load are written again from the label files."""
    row = size * size * 3
    images, status = out / "images.u8", out / "status.u8"
    have = images.stat().st_size if images.is_file() else 0
    done = np.fromfile(status, np.uint8) if status.is_file() else np.zeros(0, np.uint8)
    rewrite = have != n * row or len(done) != n
    if len(done) != n:
        print(f"note: {status}: damaged ({len(done)} of {n} entries); every image is done again",
              file=sys.stderr)
        done = np.zeros(n, np.uint8)
    elif have < n * row:
        intact = have // row
        redo = int((done[intact:] != PENDING).sum())
        if redo:
            print(f"note: {images}: cut short ({have:,} of {n * row:,} bytes); {redo} images are "
                  "done again", file=sys.stderr)
        done[intact:] = PENDING
    if rewrite:
        with open(images, "ab") as f:
            f.truncate(n * row)
        done.tofile(status)
    for name, arr in {"labels": ds.labels, **ds.targets}.items():
        try:
            ok = np.array_equal(np.load(out / f"{name}.npy"), arr, equal_nan=arr.dtype.kind == "f")
        except (OSError, ValueError, EOFError):
            ok = False
        if not ok:
            print(f"note: {out / name}.npy: damaged or out of date; written again", file=sys.stderr)
            np.save(out / f"{name}.npy", arr)


@dataclass
class Cache:
    """A finished cache, opened read-only. ``images``/``labels`` hold only the cached rows."""

    path: Path
    images: np.ndarray  # (N, S, S, 3) uint8 (memory-mapped)
    labels: np.ndarray  # (N, A) uint8
    attributes: tuple[str, ...]
    files: list[str]
    framing: dict
    size: int
    targets: dict[str, np.ndarray] = field(default_factory=dict)  # age, expression, groups

    def __len__(self) -> int:
        return len(self.files)


def open_cache(path: str | Path) -> Cache:
    """Open a complete cache; a missing, partial or foreign folder gives a clear error."""
    path = Path(path)
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise FaceAttrError(f"{path}: not a faceattr cache (no meta.json); build one with "
                            "'faceattr prepare'")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        settings = meta["settings"]
        if settings.get("format") != FORMAT:
            raise FaceAttrError(f"{path}: cache format {settings.get('format')!r} is not {FORMAT}")
        size, files = int(settings["size"]), list(meta["files"])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise FaceAttrError(f"{meta_path}: corrupt cache metadata ({e})") from None
    if not meta.get("complete"):
        raise FaceAttrError(f"{path}: cache is incomplete; rerun 'faceattr prepare' to finish it")
    n = len(files)
    damaged = f"damaged; rerun 'faceattr prepare' with the same options to repair {path}"
    try:
        have = (path / "images.u8").stat().st_size
        status = np.fromfile(path / "status.u8", np.uint8)
        labels = np.load(path / "labels.npy")
        targets = {t: np.load(path / f"{t}.npy") for t in TARGETS
                   if (path / f"{t}.npy").is_file()}
    except (OSError, ValueError, EOFError) as e:
        raise FaceAttrError(f"{path}: {damaged} ({e})") from None
    if have != n * size * size * 3:
        raise FaceAttrError(f"{path}/images.u8: {have:,} bytes, the cache needs "
                            f"{n * size * size * 3:,}: {damaged}")
    for name, arr in {"status.u8": status, "labels.npy": labels,
                      **{f"{k}.npy": v for k, v in targets.items()}}.items():
        if len(arr) != n:
            raise FaceAttrError(f"{path}/{name}: {len(arr)} rows, the cache has {n}: {damaged}")
    images: np.ndarray = np.memmap(path / "images.u8", np.uint8, "r", shape=(n, size, size, 3))
    keep = np.flatnonzero(status == CACHED)
    if len(keep) < n:
        images = images[keep]
        labels = labels[keep]
        targets = {k: v[keep] for k, v in targets.items()}
        files = [files[i] for i in keep]
    return Cache(path, images, labels, tuple(meta["attributes"]), files, settings["framing"], size,
                 targets)
