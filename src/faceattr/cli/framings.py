"""``faceattr framings``: list the known source framings."""

from __future__ import annotations

import argparse


def add(sub) -> None:
    p = sub.add_parser("framings", help="list the known source framings")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceattr.preprocess.framing import DEFAULT_FRAMING, framings

    for f in framings().values():
        mark = " (default)" if f.name == DEFAULT_FRAMING else ""
        print(f"{f.name:16s} cx={f.cx:.3f} cy={f.cy:.3f} size={f.size:.3f}  "
              f"{f.description}{mark}")
    return 0
