"""What the SP3DDetect panel shows, decided in plain Python (the tests drive it; the widget only displays it)."""

from __future__ import annotations

from KeypointMRMLLib import outcomes
from KeypointMRMLLib.outcomes import ApplyButton, Outcome, cancelledOutcome

__all__ = ["applyButton", "cancelledOutcome", "detectOutcome", "errorOutcome", "matchOutcome"]


def applyButton(inputVolume, secondVolume, running: bool) -> ApplyButton:
    if running:
        return outcomes.cancelButton()
    if inputVolume is None:
        return ApplyButton(False, "Apply", "Select a volume.")
    if secondVolume is inputVolume:
        return ApplyButton(False, "Apply", "Select another volume to match, or none to detect only.")
    if secondVolume is not None:
        return ApplyButton(True, "Apply", "Match the second volume to the first by their keypoints.")
    return ApplyButton(True, "Apply", "Detect keypoints in the volume.")


def detectOutcome(result) -> Outcome:
    if len(result.features) == 0:
        text = ("No keypoints were found: lower the detection threshold, or check the mask and the volume's "
                "intensities.")
        return Outcome(text, ("SP3DDetect: no keypoints", text))
    return _withWarnings(Outcome(f"{len(result.features)} keypoints in {result.keypointsNode.GetName()!r}.",
                                 showResult=True), result.warnings)


def matchOutcome(result) -> Outcome:
    return _withWarnings(outcomes.reportOutcome(result.report, "SP3DDetect", "no match"), result.warnings)


def _withWarnings(outcome: Outcome, warnings: list[str]) -> Outcome:
    """The outcome with the volumes' sampling warnings after its status (a dialog only where one is shown anyway)."""
    if not warnings:
        return outcome
    status = " ".join([outcome.status, *warnings])
    dialog = (outcome.dialog[0], "\n\n".join([outcome.dialog[1], *warnings])) if outcome.dialog else None
    return Outcome(status, dialog, outcome.showResult, outcome.isError, outcome.details)


def errorOutcome(error: Exception) -> Outcome:
    return outcomes.errorOutcome(error, "SP3DDetect", "SP3DDetect")
