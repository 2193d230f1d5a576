"""`bench segment`'s scoring: MONAI Dice and HD95 in mm at the frame's spacing, an empty prediction counted as a
failure (not averaged away), and the quality flag's precision."""

from __future__ import annotations

import numpy as np
import pytest

from KeypointEvaluationLib.cardiac.benchmark import FrameScore, score, summarise
from KeypointEvaluationLib.cardiac.phantom import short_axis_phantom


def test_a_perfect_prediction_scores_dice_1_and_hd95_0():
    phantom = short_axis_phantom(slices=5, size=64)
    dice, hd95 = score(phantom.labels, phantom.labels, phantom.ijk_to_ras)
    assert all(value == pytest.approx(1.0) for value in dice.values())
    assert all(value == pytest.approx(0.0) for value in hd95.values())


def test_hd95_is_in_mm_along_each_axis():
    truth = np.zeros((6, 40, 40), np.uint8)
    truth[1:5, 10:30, 10:30] = 3
    truth[1:5, 5:8, 10:30] = 1
    truth[1:5, 32:35, 10:30] = 2
    shifted = np.roll(truth, 2, axis=2)  # two columns: 2 x 1.5 mm
    _, hd95 = score(shifted, truth, np.diag([1.5, 0.8, 10.0, 1.0]))
    assert hd95["Left ventricle cavity"] == pytest.approx(3.0, abs=0.01)
    slice_shift = np.roll(truth, 1, axis=0)  # one slice: 10 mm
    _, hd95 = score(slice_shift, truth, np.diag([1.5, 0.8, 10.0, 1.0]))
    assert hd95["Left ventricle cavity"] == pytest.approx(10.0, abs=0.01)


def test_an_empty_structure_is_a_failure_with_dice_0():
    phantom = short_axis_phantom(slices=5, size=64)
    without_rv = np.where(phantom.labels == 1, 0, phantom.labels)
    dice, hd95 = score(without_rv, phantom.labels, phantom.ijk_to_ras)
    assert dice["Right ventricle cavity"] == 0.0 and hd95["Right ventricle cavity"] is None
    summary = summarise([FrameScore("p1", "ED", dice, hd95, 1.0, False)])
    assert summary["ED"]["Right ventricle cavity"]["failures"] == 1
    assert summary["ED"]["Right ventricle cavity"]["hd95_mm"] is None  # not averaged as if it were a distance


def test_quality_precision_counts_flagged_results_that_are_right():
    from KeypointEngineLib.cardiac.measurements import STRUCTURES

    names = list(STRUCTURES.values())
    good, bad = dict.fromkeys(names, 0.9), dict(zip(names, (0.3, 0.5, 0.2), strict=True))
    distances = dict.fromkeys(names, 1.0)
    scores = [FrameScore("p1", "ED", good, distances, 1.0, True), FrameScore("p2", "ED", bad, distances, 1.0, True),
              FrameScore("p3", "ES", bad, distances, 1.0, False), FrameScore("p4", "ES", good, distances, 1.0, False)]
    summary = summarise(scores)
    assert summary["quality_precision"] == pytest.approx(0.5) and summary["quality_recall"] == pytest.approx(0.5)


def test_calibration_shows_how_each_threshold_sorts_right_from_wrong():
    from KeypointEngineLib.cardiac.measurements import STRUCTURES
    from KeypointEvaluationLib.cardiac.benchmark import calibration

    names = list(STRUCTURES.values())
    volumes = dict.fromkeys(names, 100.0)

    def frame(dice, kept):
        measures = {"volumes_ml": volumes, "kept_fraction": dict.fromkeys(names, kept), "ringed": 0.9,
                    "rv_touching_slices": 5}
        return FrameScore("p", "ED", dict.fromkeys(names, dice), dict.fromkeys(names, 1.0), 1.0, True, measures)

    rows = {(row["kept_fraction"], row["ringed"]): row
            for row in calibration([frame(0.9, 0.95), frame(0.9, 0.75), frame(0.4, 0.55)])}
    assert rows[(0.5, 0.6)]["flagged"] == 3 and rows[(0.5, 0.6)]["precision"] == pytest.approx(2 / 3)
    assert rows[(0.6, 0.6)]["precision"] == 1.0 and rows[(0.6, 0.6)]["recall"] == 1.0
    assert rows[(0.9, 0.6)]["recall"] == pytest.approx(0.5)
