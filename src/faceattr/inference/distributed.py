"""``faceattr predict --ray``: the same job on a Ray cluster, with Ray Data.

The input paths become a Ray dataset; an actor pool (one model per actor, one CPU each) reads,
detects, frames and predicts batches of them; the rows (one per face, as in the single-process
Parquet output) are written as a Parquet folder. Every node must be able to read the inputs at
the same paths (a shared file system) and write the output folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faceattr.errors import FaceAttrError


class _Predictor:
    """A Ray Data actor: one Recognizer per actor, reused for every batch it is given."""

    def __init__(self, options: dict[str, Any]) -> None:
        from faceattr.inference.recognizer import Recognizer

        self.rec = Recognizer(**options, threads=1)

    def __call__(self, batch):
        import pyarrow as pa

        from faceattr.outputs.parquet import parquet_schema

        rec = self.rec
        extras = (rec.attributes, rec.expressions, rec.has_age)
        results = rec.predict_batch([str(f) for f in batch["file"].to_pylist()], workers=1)
        rows = [p.row(*extras) for res in results for p in res.predictions()]
        return pa.Table.from_pylist(rows, schema=parquet_schema(*extras))


def predict_on_ray(files: list[str], output: Path, options: dict[str, Any],
                   address: str | None = None, batch_size: int = 64,
                   overwrite: bool = False) -> int:
    """Predict ``files`` on Ray (``address``: a cluster, ``None``: a local instance); write
    Parquet parts to ``output``; returns the number of part files written."""
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
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
             configure_logging=False)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ds = ray.data.from_items([{"file": f} for f in files],
                             override_num_blocks=max(1, min(len(files) // batch_size, 4 * cpus)))
    rows = ds.map_batches(_Predictor, fn_constructor_args=(options,), batch_size=batch_size,
                          batch_format="pyarrow", concurrency=max(1, cpus - 1), num_cpus=1)
    rows.write_parquet(str(output.resolve()))
    return sum(1 for _ in output.glob("*.parquet"))
