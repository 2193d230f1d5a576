"""What a module's panel shows after a run, shared by every module and decided in plain Python, so that tests drive
it and the Qt widget only displays it."""

from __future__ import annotations

import traceback
from dataclasses import dataclass


@dataclass(frozen=True)
class ApplyButton:
    enabled: bool
    text: str
    toolTip: str


@dataclass(frozen=True)
class Outcome:
    """The status line, a dialog if the user must look (title, text), whether to show the result in the views, and
    the details of an unexpected error."""

    status: str
    dialog: tuple[str, str] | None = None
    showResult: bool = False
    isError: bool = False
    details: str = ""


def cancelButton() -> ApplyButton:
    return ApplyButton(True, "Cancel", "Stop; the scene stays as it was.")


def cancelledOutcome() -> Outcome:
    return Outcome("Cancelled; the scene is as it was.")


def errorOutcome(error: Exception, module: str, action: str) -> Outcome:
    """Bad input (ValueError: its message says what to do) or an unexpected failure; either way nothing was added."""
    if isinstance(error, ValueError):
        return Outcome(str(error), (module, str(error)))
    text = f"{action} failed: {error}"
    return Outcome(text, (module, text), isError=True,
                   details="".join(traceback.format_exception(type(error), error, error.__traceback__)))


def reportOutcome(report, module: str, noResultTitle: str) -> Outcome:
    """A registration that ran to its end: failed (nothing added), low confidence, or good (shown either way)."""
    summary = report.summary()
    if not report.success:
        return Outcome(summary, (f"{module}: {noResultTitle}", summary))
    if not report.confident:
        return Outcome(summary, (f"{module}: low confidence", summary), showResult=True)
    return Outcome(summary, showResult=True)
