"""What the KeypointAlign panel shows, decided in plain Python (the tests drive it; the widget only displays it)."""

from __future__ import annotations

from KeypointMRMLLib import outcomes
from KeypointMRMLLib.outcomes import ApplyButton, Outcome, cancelledOutcome

__all__ = ["applyButton", "cancelledOutcome", "errorOutcome", "resultOutcome"]


def applyButton(fixedVolume, movingVolume, running: bool) -> ApplyButton:
    if running:
        return outcomes.cancelButton()
    if fixedVolume is None or movingVolume is None:
        return ApplyButton(False, "Apply", "Select a fixed and a moving image.")
    if fixedVolume is movingVolume:
        return ApplyButton(False, "Apply", "Select two different images.")
    return ApplyButton(True, "Apply", "Register the moving image onto the fixed image.")


def resultOutcome(result) -> Outcome:
    """A registration that ran to its end; the moving image is shown aligned unless it failed."""
    return outcomes.reportOutcome(result.report, "KeypointAlign", "no registration")


def errorOutcome(error: Exception) -> Outcome:
    return outcomes.errorOutcome(error, "KeypointAlign", "Registration")
