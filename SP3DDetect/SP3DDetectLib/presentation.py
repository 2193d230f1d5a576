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
    return Outcome(f"{len(result.features)} keypoints in {result.keypointsNode.GetName()!r}.", showResult=True)


def matchOutcome(result) -> Outcome:
    return outcomes.reportOutcome(result.report, "SP3DDetect", "no match")


def errorOutcome(error: Exception) -> Outcome:
    return outcomes.errorOutcome(error, "SP3DDetect", "SP3DDetect")
