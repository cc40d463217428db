"""Build an ensemble model file from trained members: one network that averages them.

    python tools/make_ensemble.py runs/m1/model.safetensors runs/m2/model.safetensors ... \
        --val cache/crop108-val cache/square160-val [--mirror auto|on|off] --out ens.safetensors

The members' probabilities are averaged inside one network (``models/ensemble.py``), which
``tools/bundle_model.py`` exports to one ONNX graph. ``--mirror auto`` (default) adds each
member's mirror image when that is better on the official val split. Thresholds are tuned and
one temperature per attribute fitted on the val split, as ``faceattr train`` does for a single
model; ``grey_unreliable`` measured there too. Prints every member's and the ensemble's val
accuracy. The members trained with age and expression give the ensemble those answers (their
distributions averaged, over the mirror images too when the mirror is on); ``--extras-from
expression=5`` takes a task from the named members only (0-based, in the order given). A member
without attributes (an expression specialist, tools/expression_specialists.sh) gives only its
extra tasks.

``--soup 0.7,0.3`` averages the members' weights instead (a model soup, ``models/soup.py``: for
networks fine-tuned from one another), one network of the first member's architecture at one
network's cost, calibrated the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from faceattr.data.cache import open_cache
from faceattr.evaluation.calibration import fit_calibration
from faceattr.evaluation.metrics import summary
from faceattr.models.ensemble import Ensemble, EnsembleConfig
from faceattr.models.faceattr_net import FaceAttrNet
from faceattr.models.metadata import ModelMeta
from faceattr.models.modelfile import load_model, run_name, save_model
from faceattr.models.soup import average_weights

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@torch.inference_mode()
def probabilities(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    out = []
    for i in range(0, len(images), 256):
        x = torch.from_numpy(images[i:i + 256]).float().div(255).sub(0.5).div(0.5)
        out.append(model(x.permute(0, 3, 1, 2).contiguous()).softmax(-1)[..., 1].numpy())
    return np.concatenate(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("members", type=Path, nargs="+")
    ap.add_argument("--val", type=Path, nargs="+", required=True)
    ap.add_argument("--mirror", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--extra-val", type=Path, nargs="*", default=[],
                    help="age/expression val caches (UTKFace, FER+): the ensemble's own age SD "
                         "scale and expression temperature are fitted there (else the joint "
                         "member's are copied)")
    ap.add_argument("--extras-from", nargs="*", default=[], metavar="TASK=I,J",
                    help="the members (0-based, in the order given) that the age or expression "
                         "answer averages, e.g. expression=5 (default: every member trained "
                         "with it)")
    ap.add_argument("--soup", metavar="W1,W2,...",
                    help="average the members' weights with these shares (one per member) "
                         "into one network instead of averaging their answers")
    args = ap.parse_args()
    try:
        shares = [float(w) for w in args.soup.split(",")] if args.soup else []
    except ValueError:
        ap.error("--soup takes one share per member, e.g. 0.7,0.3")
    if args.soup and (args.mirror == "on" or args.extras_from):
        ap.error("--soup makes one network: no --mirror on, no --extras-from")
    try:
        extras_from = {t: [int(i) for i in v.split(",")]
                       for t, v in (a.split("=", 1) for a in args.extras_from)}
    except ValueError:
        ap.error("--extras-from takes TASK=I,J (member indices), e.g. expression=5")
    if args.out.resolve() in {m.resolve() for m in args.members}:
        ap.error(f"--out {args.out} is one of the members: it would be overwritten")
    if shares and len(shares) != len(args.members):
        ap.error(f"--soup: {len(shares)} shares for {len(args.members)} members")
    torch.set_num_threads(2)
    loaded = [load_model(p) for p in args.members]
    if shares and any(not isinstance(m, FaceAttrNet) or meta["attributes"] !=
                      loaded[0][1]["attributes"] or m.config.input_size !=
                      loaded[0][0].config.input_size for m, meta in loaded):
        ap.error("--soup: every member must be one network (not an ensemble) with the first "
                 "one's attributes and input size")
    first = next((meta for _, meta in loaded if meta["attributes"]), None)
    if first is None:
        ap.error("no member has attributes (an expression specialist cannot stand alone)")
    attrs = first["attributes"]
    images, labels = [], []
    for path in args.val:
        cache = open_cache(path)
        images.append(np.asarray(cache.images))
        labels.append(cache.labels[:, [list(cache.attributes).index(a) for a in attrs]])
    x, y = np.concatenate(images), np.concatenate(labels)
    grey = np.repeat((x.astype(np.float32) @ LUMA).round().clip(0, 255).astype(np.uint8)[..., None],
                     3, -1)
    for (model, meta), path in zip(loaded, args.members):
        if not meta["attributes"]:
            print(f"member {path}: no attributes (gives {', '.join(model.config.extra_tasks)})")
            continue
        acc = summary((probabilities(model, x) >= 0.5).astype(np.uint8), y)[0]
        print(f"member {path}: val mean accuracy {acc:.2%}")
    best = None
    if shares:
        soup = average_weights([m for m, _ in loaded], shares)
        p = probabilities(soup, x)
        best = (summary((p >= 0.5).astype(np.uint8), y)[0], soup, p)
        print(f"soup of {len(loaded)} (shares {args.soup}): val mean accuracy {best[0]:.2%}")
    for mirror in ([] if shares else [False, True] if args.mirror == "auto"
                   else [args.mirror == "on"]):
        cfg = EnsembleConfig.from_dict(EnsembleConfig([m.config for m, _ in loaded], mirror,
                                                      extras_from).to_dict())
        ens = Ensemble(cfg).eval()
        for member, (model, _) in zip(ens.members, loaded):
            member.load_state_dict(model.state_dict())
        p = probabilities(ens, x)
        acc = summary((p >= 0.5).astype(np.uint8), y)[0]
        print(f"ensemble of {len(loaded)}, mirror {'on' if mirror else 'off'}: val mean accuracy "
              f"{acc:.2%}")
        if best is None or acc > best[0]:
            best = (acc, ens, p)
    acc, ens, p = best
    pg = probabilities(ens, grey)
    # age and expression calibration: the first member's that gives the task (unless fitted
    # on --extra-val below)
    givers = ens.task_members if isinstance(ens, Ensemble) else \
        {t: [0] for t in ens.config.extra_tasks}
    extras = {t: loaded[givers[t][0]][1].get(t) for t in ens.config.extra_tasks}
    combined = {"members": [run_name(m) for m in args.members]}
    combined |= {"soup": shares} if shares else {"mirror": ens.config.mirror}
    grey_acc = float(summary((pg >= 0.5).astype(np.uint8), y)[0])
    meta = ModelMeta(
        attributes=attrs, input_size=ens.config.input_size, framing=first["framing"],
        train_prevalence=first.get("train_prevalence"),
        age=extras.get("age"), expression=extras.get("expression"),
        ensemble={**combined, **({"extras_from": extras_from} if extras_from else {})},
        metrics={"val_mean_accuracy": float(acc), "val_mean_accuracy_grey": grey_acc},
    ).with_calibration(fit_calibration(attrs, p, y, pg))
    if args.extra_val and ens.config.extra_tasks:
        from faceattr.training.loader import CacheBatches
        from faceattr.training.train import extra_task_meta, predict_mixed

        caches = [open_cache(p) for p in args.extra_val]
        batches = CacheBatches(caches, batch_size=256)
        m = predict_mixed(ens, batches, torch.device("cpu"), False)
        own = extra_task_meta(m, ens.config)
        meta = meta.with_calibration(own)
        mae = float(np.abs(m["age_pred"] - m["age_true"]).mean()) if "age_pred" in m else None
        acc_e = float((m["expr_logits"].argmax(1) == m["expr_votes"].argmax(1)).mean()) \
            if "expr_logits" in m else None
        print(f"age/expression calibration fitted on {', '.join(map(str, args.extra_val))}: "
              f"{own} (age MAE {mae}, expression accuracy {acc_e})")
    save_model(ens, args.out, meta.to_dict())
    how = f"soup {args.soup}" if shares else f"mirror {'on' if ens.config.mirror else 'off'}"
    print(f"wrote {args.out}: val mean accuracy {acc:.2%} (grey {grey_acc:.2%}), {how}")


if __name__ == "__main__":
    main()
