"""Exit codes of every subcommand, and the rule for results that may be wrong."""

from __future__ import annotations

import sys

DONE = 0  # done (a result that is not confident too, with a warning)
NO_RESULT = 1  # the method found no result on valid input (or, with --require-confident, no confident one)
BAD_INPUT = 2  # bad input or options, found before any work
INTERNAL = 3  # internal error: a bug or a broken installation


def add_confidence_option(parser) -> None:
    parser.add_argument("--require-confident", action="store_true",
                        help=f"exit with status {NO_RESULT} when the result is not confident (default: exit "
                             f"{DONE} with a warning, and \"confident\": false in the report)")


def result_exit_code(success: bool, confident: bool, require_confident: bool, command: str) -> int:
    """DONE, or NO_RESULT for a failure (or a result that is not confident, when that was required)."""
    if not success:
        return NO_RESULT
    if not confident:
        print(f"slicer-keypoints {command}: warning: the result is not confident; check it before use.",
              file=sys.stderr)
        return NO_RESULT if require_confident else DONE
    return DONE
