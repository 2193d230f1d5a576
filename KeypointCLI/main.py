"""Entry point: the core subcommands (info, demo, bench) and every module's, each in a module with `add_parser` and
`run`; errors become exit codes (see exits.py) and one line on stderr, never a traceback for bad input."""

from __future__ import annotations

import argparse
import sys
import traceback

from KeypointCLI import bench, demo, exits, info
from KeypointCLI.plugins import contributions, training_command
from KeypointEngineLib.errors import BrokenInstallation, InputError

# a module the standalone path needs but Slicer ships: missing means the extra was not installed
STANDALONE_MODULES = {"slicer", "vtk", "vtkmodules", "mrml", "matplotlib"}
# what is raised for input or options that cannot be used; anything else is a bug
INPUT_ERRORS = (InputError, FileNotFoundError, IsADirectoryError, NotADirectoryError)


def subcommands() -> list:
    training = training_command()
    return [info, demo, *contributions("COMMANDS"), bench, *([training] if training else [])]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slicer-keypoints",
        description="SlicerKeypoints without the Slicer application: outputs are files Slicer opens. Exit status: "
                    f"{exits.DONE} done, {exits.NO_RESULT} no result found on valid input, {exits.BAD_INPUT} bad "
                    f"input or options, {exits.INTERNAL} internal error.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for subcommand in subcommands():
        subcommand.add_parser(commands).set_defaults(run=subcommand.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits with status 2 on bad options
    prefix = f"slicer-keypoints {args.command}"
    try:
        return int(args.run(args) or exits.DONE)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] in STANDALONE_MODULES:
            print(f"{prefix}: error: {error.name} is missing; install the standalone extra: "
                  "pip install 'slicer-keypoints[standalone]' (never inside Slicer, which ships its own).",
                  file=sys.stderr)
        else:  # a dependency of the engine itself: the installation is incomplete
            traceback.print_exc()
            print(f"{prefix}: error: {error.name} is missing; reinstall: pip install slicer-keypoints "
                  "(torch from the README's setup for your machine).", file=sys.stderr)
        return exits.INTERNAL
    except BrokenInstallation as error:  # its message says how to restore the files
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return exits.INTERNAL
    except INPUT_ERRORS as error:
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return exits.BAD_INPUT
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted; no output was written.", file=sys.stderr)
        return 130
    except Exception as error:  # a bug or a broken installation: the details help a report
        traceback.print_exc()
        print(f"{prefix}: internal error: {error}", file=sys.stderr)
        return exits.INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
