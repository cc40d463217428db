"""``--format parquet`` (``faceattr[parquet]``): a folder of part files (``part-00000.parquet``,
...), as Spark, Ray and pyarrow datasets write it; each flush adds a complete part, so nothing
half-written is ever read."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from faceattr.errors import FaceAttrError
from faceattr.outputs.base import AGE, BOX, OutputFormat, columns


def pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise FaceAttrError("--format parquet needs pyarrow: pip install "
                            "'faceattr[parquet]'") from None
    return pq


def parquet_schema(attributes: Sequence[str], expressions: Sequence[str] = (),
                   age: bool = False):
    """The Arrow schema of result rows (:func:`faceattr.results.columns`, same order)."""
    import pyarrow as pa

    kinds = {"schema": pa.int32(), "file": pa.string(), "face": pa.int32(),
             **dict.fromkeys(BOX, pa.float32()), "score": pa.float32(), "turned": pa.int16(),
             "likeness": pa.float32(),
             "error": pa.string(),
             "skipped": pa.string(), "unreliable": pa.string(), "time": pa.float32(),
             "frame": pa.int32(), "track": pa.int32(), "summary": pa.bool_(),
             "until": pa.float32(), "frames": pa.int32(), **dict.fromkeys(AGE, pa.float32()),
             "expression": pa.string()}
    cols = columns(attributes, expressions, age)
    return pa.schema([(c, kinds.get(c, pa.int8() if c in attributes else pa.float32()))
                      for c in cols])


class Parquet(OutputFormat):
    name = "parquet"
    suffixes = (".parquet",)
    folder = True

    def __init__(self, attributes, thresholds=None, expressions=(), age=False) -> None:
        super().__init__(attributes, thresholds, expressions, age)
        pyarrow_parquet()  # missing pyarrow: said before any work
        self.parts = 0

    def start(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)

    def read(self, path: Path) -> tuple[set[str], list[str]]:
        pq = pyarrow_parquet()
        for tmp in path.glob("*.tmp"):
            tmp.unlink()
        done: set[str] = set()
        dropped: list[str] = []
        for part in sorted(path.glob("part-*.parquet")):
            try:
                names = pq.read_table(part, columns=["file"])["file"].to_pylist()
            except Exception as e:  # pyarrow raises its own error types
                aside = part.with_name("_" + part.name + ".damaged")  # hidden from readers
                part.rename(aside)
                dropped.append(f"{part.name} ({str(e).splitlines()[0][:60]}), moved aside as "
                               f"{aside.name}")
                continue
            done.update(names)
        # parts are numbered on from the highest, so none is ever overwritten
        names = [p.name.lstrip("_") for p in path.glob("*part-*.parquet*")]
        numbers = [int(n[5:10]) for n in names if n.startswith("part-") and n[5:10].isdigit()]
        self.parts = max(numbers, default=-1) + 1
        return done, dropped

    def append(self, path: Path, records: list[dict[str, Any]]) -> None:
        import pyarrow as pa

        pq = pyarrow_parquet()
        schema = parquet_schema(self.attributes, self.expressions, self.age)
        table = pa.Table.from_pylist(records, schema=schema)
        final = path / f"part-{self.parts:05d}.parquet"
        # a hidden name while it is written: pyarrow, pandas and Spark skip files starting with
        # '.' or '_', so a run killed mid-write leaves a folder they still read
        tmp = final.with_name("." + final.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        self.parts += 1

    def rows(self, path: Path) -> Iterator[dict[str, Any]]:
        pq = pyarrow_parquet()
        for part in sorted(path.glob("part-*.parquet")):
            yield from pq.read_table(part).to_pylist()
