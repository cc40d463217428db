"""``faceattr serve``: the HTTP API and its web page."""

from __future__ import annotations

import argparse

from faceattr.cli.common import (
    MODEL_HELP,
    add_detection_options,
    detection_kwargs,
    port_number,
    positive_int,
)


def add(sub) -> None:
    p = sub.add_parser("serve", help="start the HTTP service and web page")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; "
                        "0.0.0.0: every interface)")
    p.add_argument("--port", type=port_number, default=8000,
                   help="TCP port to listen on (default 8000)")
    p.add_argument("--workers", type=positive_int, default=4,
                   help="decoding and detection threads (the network batches across them)")
    add_detection_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceattr.serving.app import serve

    serve(args.model, args.host, args.port, args.workers, **detection_kwargs(args))
    return 0
