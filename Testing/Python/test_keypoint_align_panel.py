"""What the KeypointAlign panel shows after each kind of run, decided in plain Python (KeypointAlignLib.presentation);
the Qt side that only a running Slicer shows is in the README's manual checklist."""

from __future__ import annotations

from KeypointAlignLib.logic import AlignResult
from KeypointAlignLib.presentation import applyButton, cancelledOutcome, errorOutcome, resultOutcome
from KeypointEngineLib.registration import RegistrationReport


def _report(success=True, confident=True) -> RegistrationReport:
    return RegistrationReport(success, "quadratic" if success else None, 900, 850, 400, 300 if success else 0,
                              0.75 if success else 0.0, 0.4 if success else float("inf"), 0.6, 1.2, confident,
                              message="" if success else "no transform is supported by enough of the 12 matches",
                              device="CPU (OpenCV SIFT)")


def test_apply_needs_two_different_images_and_reads_cancel_while_running(scene):
    first = scene.AddNewNodeByClass("vtkMRMLVectorVolumeNode", "a")
    second = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "b")
    assert not applyButton(None, second, False).enabled
    assert not applyButton(first, first, False).enabled and "two different" in applyButton(first, first, False).toolTip
    assert applyButton(first, second, False) .enabled and applyButton(first, second, False).text == "Apply"
    running = applyButton(first, second, True)
    assert running.enabled and running.text == "Cancel"


def test_a_failed_registration_shows_its_report_and_places_nothing():
    outcome = resultOutcome(AlignResult(None, _report(success=False), None))
    assert outcome.status.startswith("Registration failed: no transform is supported")
    assert not outcome.showResult and outcome.dialog[0] == "KeypointAlign: no registration"


def test_a_low_confidence_result_is_shown_with_a_warning(scene):
    node = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "t")
    outcome = resultOutcome(AlignResult(node, _report(confident=False), None))
    assert outcome.showResult and outcome.dialog[0] == "KeypointAlign: low confidence"
    assert "Low confidence" in outcome.status and "on CPU (OpenCV SIFT)" in outcome.status


def test_a_good_result_is_shown_without_a_dialog(scene):
    outcome = resultOutcome(AlignResult(scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "t"), _report(), None))
    assert outcome.showResult and outcome.dialog is None and "300 inliers of 400 matches" in outcome.status


def test_cancel_and_errors_say_the_scene_is_unchanged_or_what_to_do():
    assert "scene is as it was" in cancelledOutcome().status and cancelledOutcome().dialog is None
    advice = errorOutcome(ValueError("Select a fixed image."))
    assert advice.status == "Select a fixed image." and not advice.isError
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        bug = errorOutcome(error)
    assert bug.status == "Registration failed: boom" and bug.isError and "RuntimeError: boom" in bug.details
