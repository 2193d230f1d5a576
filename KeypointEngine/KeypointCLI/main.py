"""Entry point: one subcommand per job; each lives in its own module with `add_parser` and `run`."""

from __future__ import annotations

import argparse
import sys

from KeypointAlignLib import cli as align
from KeypointCLI import bench, demo, info, train

SUBCOMMANDS = (info, demo, align, bench, train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slicer-keypoints",
        description="SlicerKeypoints without the Slicer application: outputs are files Slicer opens.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for subcommand in SUBCOMMANDS:
        subcommand.add_parser(subparsers).set_defaults(run=subcommand.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"slicer-keypoints {args.command}: error: {message}", file=sys.stderr)
        return 2
