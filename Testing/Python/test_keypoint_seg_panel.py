"""What the KeypointSeg panel shows, decided in plain Python (KeypointSegLib.presentation)."""

from __future__ import annotations

from KeypointEngineLib.cardiac.measurements import Quality
from KeypointSegLib.logic import CycleResult, SegmentResult
from KeypointSegLib.presentation import applyButton, cycleOutcome, errorOutcome, segmentOutcome


def _result(scene, name, ok=True, warnings=()):
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", f"{name} segmentation")
    volumes = {"Right ventricle cavity": 150.0, "Left ventricle myocardium": 110.0, "Left ventricle cavity": 140.0}
    return SegmentResult(node, volumes, Quality(ok, [] if ok else ["no left ventricle cavity found"]),
                         warnings=list(warnings))


def test_apply_segments_one_frame_or_a_cycle_and_reads_cancel_while_running(scene):
    ed = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "ed")
    es = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "es")
    assert not applyButton(None, None, False).enabled
    assert applyButton(ed, None, False).toolTip == "Segment the frame."
    assert "ventricular function" in applyButton(ed, es, False).toolTip
    assert not applyButton(ed, ed, False).enabled
    assert applyButton(ed, es, True).text == "Cancel"


def test_a_good_result_is_shown_and_a_doubtful_one_says_why(scene):
    good = segmentOutcome(_result(scene, "ed"))
    assert good.showResult and good.dialog is None and "Left ventricle cavity 140 mL" in good.status
    doubtful = segmentOutcome(_result(scene, "brain", ok=False, warnings=["brain: only 2 slices"]))
    assert doubtful.showResult and doubtful.dialog[0] == "KeypointSeg: check the result"
    assert "no left ventricle cavity found" in doubtful.dialog[1] and "only 2 slices" in doubtful.dialog[1]


def test_a_cycle_reports_ejection_fractions_and_mass(scene):
    table = scene.AddNewNodeByClass("vtkMRMLTableNode", "function")
    function = {"LV ejection fraction (%)": 61.4, "RV ejection fraction (%)": 55.0, "LV myocardial mass (g)": 120.2}
    outcome = cycleOutcome(CycleResult(_result(scene, "ed"), _result(scene, "es"), function, table))
    assert outcome.status.startswith("LV ejection fraction 61 %") and "120 g" in outcome.status
    assert outcome.dialog is None
    assert errorOutcome(ValueError("Select a short-axis cine frame.")).dialog[1] == "Select a short-axis cine frame."
