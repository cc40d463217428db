"""``faceattr predict --ray``: the same job on a Ray cluster, with Ray Data.

The input paths become a Ray dataset; an actor pool (one model per actor, one CPU each) reads,
detects, frames and predicts batches of them; the rows (one per face, as in the single-process
Parquet output) are written as a Parquet folder. Every node must be able to read the inputs at
the same paths (a shared file system) and write the output folder.
"""

from __future__ import annotations

from pathlib import Path

from faceattr.errors import FaceAttrError
from faceattr.inference.options import PredictOptions


class _Predictor:
    """A Ray Data actor: one Recognizer per actor, reused for every batch it is given."""

    def __init__(self, options: PredictOptions) -> None:
        self.rec = options.recognizer(threads=1)
        self.options = options

    def __call__(self, batch):
        import pyarrow as pa

        from faceattr.inference.video import video_result
        from faceattr.outputs.parquet import parquet_schema
        from faceattr.preprocess.video import is_video_name

        rec = self.rec
        extras = (rec.attributes, rec.expressions, rec.has_age)
        paths = [str(f) for f in batch["file"].to_pylist()]
        photos = [p for p in paths if not is_video_name(p)]
        results = {r.source: r for r in rec.predict_batch(photos, workers=1)}
        for v in (p for p in paths if is_video_name(p)):  # a video is one input, all its frames
            results[v] = video_result(rec, Path(v), self.options.fps, self.options.batch_size)
        rows = [p.row(*extras) for path in paths for p in results[path].predictions()]
        return pa.Table.from_pylist(rows, schema=parquet_schema(*extras))


def predict_on_ray(files: list[str], output: Path, options: PredictOptions,
                   address: str | None = None, overwrite: bool = False) -> tuple[int, int]:
    """Predict ``files`` on Ray (``address``: a cluster, ``None``: a local instance); write
    Parquet parts to ``output``; returns the number of part files written and of inputs that
    failed. A local instance is shut down at the end."""
    try:
        import ray
    except ImportError:
        raise FaceAttrError("--ray needs Ray: pip install 'faceattr[ray]'") from None
    import shutil

    output = Path(output)
    if output.exists() and any(output.iterdir()):
        if not overwrite:
            raise FaceAttrError(f"{output} exists; pass --overwrite to replace it, or choose "
                                "another --output")
        shutil.rmtree(output)
    started = not ray.is_initialized()
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
             configure_logging=False)
    try:
        return _run(ray, files, output, options)
    finally:
        if started:
            ray.shutdown()


def _run(ray, files: list[str], output: Path, options: PredictOptions) -> tuple[int, int]:
    import pyarrow.parquet as pq

    batch_size = options.batch_size
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ds = ray.data.from_items([{"file": f} for f in files],
                             override_num_blocks=max(1, min(len(files) // batch_size, 4 * cpus)))
    rows = ds.map_batches(_Predictor, fn_constructor_args=(options,), batch_size=batch_size,
                          batch_format="pyarrow", concurrency=max(1, cpus - 1), num_cpus=1)
    rows.write_parquet(str(output.resolve()))
    parts = sorted(output.glob("*.parquet"))
    errors = [e for p in parts for e in pq.read_table(p, columns=["file", "error"]).to_pylist()
              if e["error"] is not None]
    return len(parts), len({e["file"] for e in errors})
