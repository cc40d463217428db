"""Fine-tuning on your own labels: 500 labelled crops, three attributes under new names.

    python benchmarks/fine_tune.py [--init fast] [--train 500] [--test 1000] [--epochs 3]
        [--attributes Smiling:smile,Eyeglasses:glasses,Bangs:fringe] [--source test|val]
        [--set train.lr=...]

The first ``--train`` test crops stand for a user's hand-labelled photos (their CelebA labels,
renamed: new attribute names, so no task step of the bundled model carries over by name), the
next ``--test`` crops for the photos to label. Runs, as a user would:

    faceattr train --init fast --images TRAIN --labels train.csv --out RUN
    faceattr evaluate --model RUN/model.safetensors --images TEST --labels test.csv --detect

and the same without ``--init`` (from scratch), and prints the mean accuracy of each on the
test crops with the majority baseline and the time taken. ``--source val`` takes official
val-split faces instead (the ``aligned-square160-64`` val shard, read as crops of the
``celeba-square160`` framing): the fine-tuning defaults (``training/own_labels.py``) were chosen
there, never on the test crops; ``--set`` passes settings to ``train``.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA
from faceattr.data.labels import read_celeba_attributes


def write(folder: Path, files: list, labels, rows, names: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for f in files:
        if isinstance(f, Path):
            (folder / f.name).symlink_to(f)
        else:  # (name, bytes) of a tar member
            (folder / f[0]).write_bytes(f[1])
    files = [f if isinstance(f, Path) else Path(f[0]) for f in files]
    path = folder.with_suffix(".csv")
    cols = [list(labels.attributes).index(a) for a in names]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", *names.values()])
        for f in files:
            w.writerow([f.name, *(int(labels.values[rows[f.name], c]) for c in cols)])
    return path


def run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "faceattr", *cmd], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", default="fast")
    ap.add_argument("--train", type=int, default=500)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--attributes", default="Smiling:smile,Eyeglasses:glasses,Bangs:fringe",
                    help="CelebA:new-name pairs")
    ap.add_argument("--source", choices=("test", "val"), default="test")
    ap.add_argument("--set", action="append", default=[], help="a train setting (repeatable)")
    args = ap.parse_args()
    names = dict(pair.split(":") for pair in args.attributes.split(","))
    labels = read_celeba_attributes(DATA / "celeba" / "list_attr_celeba.txt")
    rows = labels.row_of()
    framing: list[str] = []
    if args.source == "test":
        crops: list = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))
    else:
        shard = DATA / "celeba" / "aligned-square160-64" / "val-00.tar"
        with tarfile.open(shard) as tar:
            members = sorted((m for m in tar if m.isfile()), key=lambda m: m.name)
            members = members[: args.train + args.test]
            crops = [(Path(m.name).name, tar.extractfile(m).read()) for m in members]
        for name, _ in crops:  # the labels name them NNNNNN.jpg
            rows.setdefault(name, rows[Path(name).stem + ".jpg"])
        framing = ["--framing", "celeba-square160"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train_csv = write(root / "train", crops[: args.train], labels, rows, names)
        test_csv = write(root / "test", crops[args.train: args.train + args.test], labels, rows,
                         names)
        print(f"{args.source}: {args.train} crops to train on, {args.test} other crops to test "
              f"on; {' '.join(args.set)}; attributes "
              f"{', '.join(f'{a} as {n}' for a, n in names.items())}; {args.epochs} epochs\n")
        print("| start | mean accuracy on the test crops | per attribute | majority baseline | "
              "train time |")
        print("|---|---:|---|---:|---:|")
        for start in (args.init, None):
            out = root / f"run-{start or 'scratch'}"
            cmd = ["train", "--images", str(root / "train"), "--labels", str(train_csv),
                   "--out", str(out), "--quiet", "--set", f"train.epochs={args.epochs}",
                   *framing, *(x for kv in args.set for x in ("--set", kv))]
            seconds = run(cmd + (["--init", start] if start else []))
            report = root / f"{out.name}.json"
            run(["evaluate", "--model", str(out / "model.safetensors"), "--images",
                 str(root / "test"), "--labels", str(test_csv), "--json", str(report),
                 *(framing or ["--detect"])])
            r = json.loads(report.read_text())
            per = ", ".join(f"{a} {v['accuracy']:.1%}" for a, v in r["per_attribute"].items())
            print(f"| {'--init ' + start if start else 'from scratch'} | "
                  f"**{r['mean_accuracy']:.2%}** | {per} | {r['majority_baseline']:.2%} | "
                  f"{seconds:.0f} s |")


if __name__ == "__main__":
    main()
