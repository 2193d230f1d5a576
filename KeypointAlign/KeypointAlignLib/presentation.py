"""What the KeypointAlign panel shows, decided in plain Python (the tests drive it; the widget only displays it)."""

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
    """After a run: the status line, a dialog if the user must look (title, text), and whether to show the moving
    image under the new transform over the fixed one."""

    status: str
    dialog: tuple[str, str] | None = None
    showAligned: bool = False
    isError: bool = False
    details: str = ""  # for the dialog's details: the traceback of an unexpected error


def applyButton(fixedVolume, movingVolume, running: bool) -> ApplyButton:
    if running:
        return ApplyButton(True, "Cancel", "Stop the registration; the scene stays as it was.")
    if fixedVolume is None or movingVolume is None:
        return ApplyButton(False, "Apply", "Select a fixed and a moving image.")
    if fixedVolume is movingVolume:
        return ApplyButton(False, "Apply", "Select two different images.")
    return ApplyButton(True, "Apply", "Register the moving image onto the fixed image.")


def resultOutcome(result) -> Outcome:
    """A registration that ran to its end: failed (nothing was added), low confidence, or good."""
    summary = result.report.summary()
    if result.transformNode is None:
        return Outcome(summary, ("KeypointAlign: no registration", summary))
    if not result.report.confident:
        return Outcome(summary, ("KeypointAlign: low confidence", summary), showAligned=True)
    return Outcome(summary, showAligned=True)


def cancelledOutcome() -> Outcome:
    return Outcome("Cancelled; the scene is as it was.")


def errorOutcome(error: Exception) -> Outcome:
    """Bad input (ValueError: the message says what to do) or a failure; either way nothing was added."""
    if isinstance(error, ValueError):
        return Outcome(str(error), ("KeypointAlign", str(error)))
    text = f"Registration failed: {error}"
    return Outcome(text, ("KeypointAlign", text), isError=True,
                   details="".join(traceback.format_exception(type(error), error, error.__traceback__)))
