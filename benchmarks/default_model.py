"""Which bundled model a user labelling photos should get: fast against accurate, end to end.

    python benchmarks/default_model.py [--count 1000] [--models fast,accurate]

Runs the whole command a user runs, ``faceattr predict DIR --format jsonl --model M`` (YuNet
detection, alignment, the model), on the first ``--count`` test crops (small photos, about
180x220 px, one person each), and scores the widest face of each photo against its CelebA
labels: mean accuracy over the 40 attributes, Eyeglasses, Young, Male and Smiling, with the
precision of "wears glasses" (what a user checking the glasses by eye sees), and the
command's wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA
from faceattr.data.labels import read_celeba_attributes

SHOWN = ("Eyeglasses", "Young", "Male", "Smiling")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--models", default="fast,accurate")
    args = ap.parse_args()
    labels = read_celeba_attributes(DATA / "celeba" / "list_attr_celeba.txt")
    rows = labels.row_of()
    crops = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))[: args.count]
    print(f"{len(crops)} test crops through `faceattr predict` (detection on)\n")
    print("| model | mean accuracy | " + " | ".join(SHOWN) + " | glasses precision | "
          "wall time | photos/s |")
    print("|---|---:|" + "---:|" * len(SHOWN) + "---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for c in crops:
            (folder / c.name).symlink_to(c)
        for model in args.models.split(","):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "faceattr", "predict", str(folder),
                                  "--format", "jsonl", "--model", model], check=False,
                                 capture_output=True, text=True).stdout
            seconds = time.perf_counter() - t0
            widest: dict[str, dict] = {}
            for line in out.splitlines():
                r = json.loads(line)
                if "decisions" not in r:
                    continue
                name = Path(r["file"]).name
                w = r["box"][2] - r["box"][0]
                if name not in widest or w > widest[name]["box"][2] - widest[name]["box"][0]:
                    widest[name] = r
            names = sorted(widest)
            attrs = list(widest[names[0]]["decisions"])
            pred = np.array([[widest[n]["decisions"][a] for a in attrs] for n in names])
            truth = labels.values[[rows[n] for n in names]][
                :, [list(labels.attributes).index(a) for a in attrs]].astype(bool)
            acc = (pred == truth).mean(0)
            g = attrs.index("Eyeglasses")
            precision = (pred[:, g] & truth[:, g]).sum() / max(pred[:, g].sum(), 1)
            shown = " | ".join(f"{acc[attrs.index(a)]:.1%}" for a in SHOWN)
            print(f"| {model} | {acc.mean():.2%} | {shown} | {precision:.2f} | {seconds:.1f} s | "
                  f"{len(crops) / seconds:.1f} |")


if __name__ == "__main__":
    main()
