"""The ``faceattr`` command line: one module per command (``add`` registers its parser,
``run`` does the work); a new command is one file listed in :data:`COMMANDS`."""

from __future__ import annotations

import argparse
import os
import sys

from faceattr.cli import evaluate, export, framings, predict, prepare, serve, train
from faceattr.cli.common import Parser, input_path
from faceattr.errors import FaceAttrError, show_warnings_as_notes

COMMANDS = (prepare, train, evaluate, predict, export, serve, framings)


def build_parser() -> argparse.ArgumentParser:
    from faceattr import __version__

    parser = Parser(
        prog="faceattr", description="Face attribute recognition (CNN + bidirectional LSTM).")
    parser.add_argument("--version", action="version", version=f"faceattr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # file names that are not valid UTF-8 print safely
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    show_warnings_as_notes()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # an image path after an option (predict --format jsonl a.jpg b.jpg) is still an input
    stray = [x for x in extra if x.startswith("-") and x != "-"] if args.command == "predict" \
        else extra
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    if args.command == "predict":
        args.paths += [input_path(x) for x in extra]
    try:
        return int(args.func(args) or 0)
    except FaceAttrError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as e:  # a path we were told to write to or read from is unusable
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; work done so far is kept", file=sys.stderr)
        return 130
