"""Black-and-white photos: accuracy on grey versions of the test crops, per attribute.

    python benchmarks/greyscale.py [--model fast] [--drop 2.0]

Each of the 3,000 test crops is read as ``faceattr predict --no-detect`` reads it, once in
colour and once turned to greyscale (Pillow's ``convert("L")``, as a black-and-white photo
is), and scored at threshold 0.5. Prints the mean accuracy of both, the share of grey faces
called Pale_Skin, and the attributes that lose more than ``--drop`` points on grey faces: the
ones faceattr marks unreliable on grey input (``preprocess/faces.py``, GREY_UNRELIABLE).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import DATA
from faceattr import Recognizer
from faceattr.data.labels import read_celeba_attributes
from faceattr.evaluation.metrics import attribute_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fast")
    ap.add_argument("--drop", type=float, default=2.0, help="points of accuracy")
    args = ap.parse_args()
    rec = Recognizer(args.model, detect=False)
    labels = read_celeba_attributes(DATA / "celeba" / "list_attr_celeba.txt")
    rows = labels.row_of()
    files = sorted((DATA / "celeba" / "test-crops-dev").glob("*.jpg"))
    cols = [list(labels.attributes).index(a) for a in rec.attributes]
    truth = labels.values[[rows[f.name] for f in files]][:, cols]
    colour = [rec.read(f) for f in files]
    grey = [im.convert("L").convert("RGB") for im in colour]
    acc = {}
    for name, images in (("colour", colour), ("grey", grey)):
        squares = np.stack([rec.pipeline.faces(im).faces[0].pixels for im in images])
        pred = (rec.engine.probabilities(squares) >= 0.5).astype(np.uint8)
        acc[name] = attribute_metrics(pred, truth)["accuracy"]
        if name == "grey":
            pale = pred[:, rec.attributes.index("Pale_Skin")].mean()
    print(f"{len(files)} test crops, model {args.model}: mean accuracy colour "
          f"{acc['colour'].mean():.2%}, grey {acc['grey'].mean():.2%}; grey faces called "
          f"Pale_Skin: {pale:.1%} (true: {truth[:, rec.attributes.index('Pale_Skin')].mean():.1%})")
    print(f"\nattributes that lose more than {args.drop:g} points on grey faces:\n")
    print("| attribute | colour | grey | change |")
    print("|---|---:|---:|---:|")
    drop = (acc["colour"] - acc["grey"]) * 100
    for j in np.argsort(-drop):
        if drop[j] > args.drop:
            print(f"| {rec.attributes[j]} | {acc['colour'][j]:.2%} | {acc['grey'][j]:.2%} | "
                  f"{-drop[j]:+.2f} |")


if __name__ == "__main__":
    main()
