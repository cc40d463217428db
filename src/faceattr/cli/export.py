"""``faceattr export``: write a model as ONNX (dynamic batch, metadata embedded)."""

from __future__ import annotations

import argparse
from pathlib import Path

from faceattr.cli.common import MODEL_HELP, in_range, needs_train_extra

OPSETS = (11, 20)  # what the exporter writes and ONNX Runtime runs for these networks


def add(sub) -> None:
    p = sub.add_parser("export", help="export a model to ONNX")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--onnx", type=Path, required=True, help="ONNX file to write")
    p.add_argument("--opset", type=in_range(OPSETS[0], OPSETS[1], int), default=17,
                   help=f"ONNX opset version to export with ({OPSETS[0]}..{OPSETS[1]}, "
                        "default 17)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --onnx file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with needs_train_extra("export"):
        import onnx  # noqa: F401

        from faceattr.inference.export import export_onnx
    from faceattr.inference.base import is_bundled_name, model_path
    from faceattr.storage.writes import check_output

    model = model_path(args.model, "torch") if not is_bundled_name(args.model) else None
    check_output(args.onnx, "--onnx", [model] if model else [], args.overwrite)
    out = export_onnx(args.model, args.onnx, opset=args.opset)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0
