"""What the SP3DDetect panel shows, decided in plain Python (SP3DDetectLib.presentation)."""

from __future__ import annotations

import numpy as np

from KeypointEngineLib.features import Features
from KeypointEngineLib.registration import RegistrationReport
from SP3DDetectLib.logic import DetectResult, MatchResult
from SP3DDetectLib.presentation import applyButton, detectOutcome, errorOutcome, matchOutcome


def _features(count):
    return Features(np.zeros((count, 3)), np.ones(count, np.float32), np.ones((count, 4), np.float32) / 2)


def test_apply_detects_one_volume_matches_two_and_reads_cancel_while_running(scene):
    first = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "a")
    second = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "b")
    assert not applyButton(None, None, False).enabled
    assert applyButton(first, None, False).toolTip.startswith("Detect")
    assert applyButton(first, second, False).toolTip.startswith("Match")
    assert not applyButton(first, first, False).enabled
    assert applyButton(first, second, True).text == "Cancel"


def test_outcomes_of_detection_and_matching(scene):
    node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "ct keypoints")
    assert detectOutcome(DetectResult(node, _features(12))).status == "12 keypoints in 'ct keypoints'."
    empty = detectOutcome(DetectResult(node, _features(0)))
    assert "lower the detection threshold" in empty.status and empty.dialog is not None
    failed = RegistrationReport(False, None, 0, 0, 0, 0, 0.0, float("inf"), 0.0, 1.0, False, units="mm",
                                message="no rigid transform is supported by enough of the 3 matches")
    outcome = matchOutcome(MatchResult(None, failed, None))
    assert outcome.dialog[0] == "SP3DDetect: no match" and not outcome.showResult
    good = RegistrationReport(True, "rigid", 500, 480, 200, 150, 0.75, 1.2, 0.5, 3.0, True, units="mm")
    shown = matchOutcome(MatchResult(scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "t"), good, None))
    assert shown.showResult and shown.dialog is None and "median residual 1.20 mm" in shown.status
    assert errorOutcome(ValueError("Select a volume.")).status == "Select a volume."


def test_sampling_warnings_follow_the_status_of_a_match(scene):
    from KeypointEngineLib.registration import RegistrationReport

    good = RegistrationReport(True, "rigid", 300, 300, 120, 80, 0.67, 1.2, 0.4, 3.0, True, units="mm")
    node = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "t")
    outcome = matchOutcome(MatchResult(node, good, None, warnings=["knee: The voxels are 4.5 mm along one axis"]))
    assert outcome.status.endswith("knee: The voxels are 4.5 mm along one axis") and outcome.showResult
