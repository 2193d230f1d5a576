"""What the KeypointSeg panel shows, decided in plain Python (the tests drive it; the widget only displays it)."""

from __future__ import annotations

from KeypointMRMLLib import outcomes
from KeypointMRMLLib.outcomes import ApplyButton, Outcome, cancelledOutcome

__all__ = ["applyButton", "cancelledOutcome", "cycleOutcome", "errorOutcome", "segmentOutcome"]


def applyButton(inputVolume, endSystoleVolume, running: bool) -> ApplyButton:
    if running:
        return outcomes.cancelButton()
    if inputVolume is None:
        return ApplyButton(False, "Apply", "Select a short-axis cine frame.")
    if endSystoleVolume is inputVolume:
        return ApplyButton(False, "Apply", "Select the end-systolic frame of the same cine, or none.")
    if endSystoleVolume is not None:
        return ApplyButton(True, "Apply", "Segment both frames and measure the ventricular function.")
    return ApplyButton(True, "Apply", "Segment the frame.")


def _volumes(result) -> str:
    return ", ".join(f"{name} {value:.0f} mL" for name, value in result.volumesMl.items())


def segmentOutcome(result) -> Outcome:
    status = f"{result.segmentationNode.GetName()!r}: {_volumes(result)}."
    return _checked(status, [result])


def cycleOutcome(result) -> Outcome:
    function = result.function
    status = (f"LV ejection fraction {function['LV ejection fraction (%)']:.0f} %, RV ejection fraction "
              f"{function['RV ejection fraction (%)']:.0f} %, LV myocardial mass "
              f"{function['LV myocardial mass (g)']:.0f} g (table {result.tableNode.GetName()!r}).")
    return _checked(status, [result.endDiastole, result.endSystole])


def _checked(status: str, results) -> Outcome:
    """The status, and when the quality flag is down or the stack is poorly sampled, a dialog saying why (the
    result is still shown, so the user can look)."""
    doubts = [f"{result.segmentationNode.GetName()}: {reason}" for result in results
              for reason in result.quality.reasons] + [warning for result in results for warning in result.warnings]
    if not doubts:
        return Outcome(status, showResult=True)
    text = "\n".join([status, "", "Check this result:", *doubts])
    return Outcome(" ".join([status, "Check it:", *doubts]), ("KeypointSeg: check the result", text),
                   showResult=True)


def errorOutcome(error: Exception) -> Outcome:
    return outcomes.errorOutcome(error, "KeypointSeg", "KeypointSeg")
