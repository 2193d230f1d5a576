"""SP3D's benchmark measures what it says: a moved volume puts its anatomy where the true transform says, the
keypoint measures are 1 for perfect keypoints and 0 for wrong geometry, TRE is the mean error on the grid, the
classical descriptor is rotation-invariant, the intensity baselines report the direction ITK files store, and the
held-out volumes are those the training config leaves out."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO

from KeypointEngineLib.features import Features
from KeypointEngineLib.geometry import apply_matrix, ijk_to_ras_matrix, ras_from_ijk
from KeypointEngineLib.volume.classical import ClassicalExtractor, invariant_descriptors
from KeypointEngineLib.volume.preprocess import to_working_grid
from KeypointEvaluationLib.volume.cases import HELD_OUT, Volume, move_and_rescan, repositioning
from KeypointEvaluationLib.volume.metrics import grid_points, keypoint_scores, target_registration_error


def _phantom(shape=(48, 56, 64), spacing=(2.0, 2.0, 2.0), blobs=((20, 30, 24, 3.0), (40, 22, 30, 2.0)),
            ramp=12.0):
    """A body (an ellipsoid on zero background, brighter along i) with small bright blobs at known (i, j, k) voxels,
    within the intensities the working grid keeps (its 1st-99th percentiles)."""
    k, j, i = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    centre = (np.array(shape[::-1]) - 1) / 2
    body = (((i - centre[0]) / 26) ** 2 + ((j - centre[1]) / 22) ** 2 + ((k - centre[2]) / 19) ** 2) < 1
    array = (100.0 + ramp * i) * body
    for x, y, z, sigma in blobs:
        array += 250 * np.exp(-((i - x) ** 2 + (j - y) ** 2 + (k - z) ** 2) / (2 * sigma ** 2))
    return Volume(array.astype(np.float32), ijk_to_ras_matrix(spacing, (-60.0, 20.0, -40.0)))


def _centroid_ras(volume: Volume, threshold: float) -> np.ndarray:
    weights = np.clip(volume.array - threshold, 0, None)
    k, j, i = np.nonzero(weights)
    return ras_from_ijk(np.average(np.c_[i, j, k], axis=0, weights=weights[k, j, i])[None], volume.ijk_to_ras)[0]


def test_a_moved_volume_puts_the_anatomy_where_the_true_transform_says():
    phantom = _phantom(blobs=((20, 30, 24, 3.0),), ramp=0.0)
    blob = ras_from_ijk(np.array([[20.0, 30.0, 24.0]]), phantom.ijk_to_ras)[0]
    rng = np.random.default_rng(3)
    motion = repositioning(rng, 40.0, 10.0, blob + [8.0, -5.0, 3.0])
    moved = move_and_rescan(phantom, motion, rng, cut=0.0)
    assert moved.array.shape == phantom.array.shape
    assert np.linalg.norm(_centroid_ras(moved, 250) - apply_matrix(motion, blob)) < 0.3
    cut = move_and_rescan(phantom, np.eye(4), np.random.default_rng(0), cut=0.25)
    assert cut.array.shape[0] == phantom.array.shape[0] - 12  # the slice axis lost a quarter of its slices
    assert np.linalg.norm(_centroid_ras(cut, 250) - blob) < 0.3  # and kept its place in RAS


def _features(points: np.ndarray, seed: int) -> Features:
    descriptors = np.random.default_rng(seed).normal(size=(len(points), 16)).astype(np.float32)
    return Features(points, np.ones(len(points), np.float32), descriptors / np.linalg.norm(descriptors, axis=1,
                                                                                             keepdims=True))


def test_keypoint_measures_are_one_for_perfect_keypoints_and_zero_under_wrong_geometry():
    phantom = _phantom()
    working = to_working_grid(phantom.array, phantom.ijk_to_ras, border_mm=0)
    points = grid_points(working, 12.0)[:80]
    fixed = _features(points, 0)
    motion = repositioning(np.random.default_rng(1), 30.0, 0.0, points.mean(axis=0))
    moving = Features(apply_matrix(motion, points), fixed.scores, fixed.descriptors)
    moved_working = to_working_grid(*(lambda v: (v.array, v.ijk_to_ras))(
        move_and_rescan(phantom, motion, np.random.default_rng(2), 0.0)), border_mm=0)
    perfect = keypoint_scores(fixed, moving, motion, working, moved_working)
    assert perfect.repeatability > 0.9 and perfect.matching_score > 0.9 and perfect.mdbl < 0.5
    shifted = np.eye(4)
    shifted[:3, 3] = [6.0, 0, 0]  # geometry 6 mm off: nothing within 2 mm
    wrong = keypoint_scores(fixed, moving, motion @ shifted, working, moved_working)
    assert wrong.repeatability < 0.05 and wrong.matching_score < 0.05 and wrong.mdbl > 5


def test_target_registration_error_is_the_mean_error_on_the_grid():
    points = np.random.default_rng(0).uniform(-50, 50, (30, 3))
    truth, estimate = np.eye(4), np.eye(4)
    estimate[:3, 3] = [3.0, 0.0, 4.0]
    assert target_registration_error(estimate, truth, points) == pytest.approx(5.0)
    assert target_registration_error(None, truth, points) == float("inf")


def test_the_classical_descriptor_does_not_change_under_rotation():
    phantom = _phantom()
    rotated = np.ascontiguousarray(np.rot90(phantom.array, k=1, axes=(1, 2)))  # [k, j, i]: about the k axis
    points = np.array([[20.0, 30.0, 24.0], [40.0, 22.0, 30.0]])  # (i, j, k)
    region = phantom.array > 100
    before = invariant_descriptors(phantom.array, region, points)
    # np.rot90 over axes (j, i) maps (j, i) -> (W - 1 - i, j)
    width = phantom.array.shape[2]
    after = invariant_descriptors(rotated, np.rot90(region, 1, (1, 2)),
                                  np.c_[points[:, 1], width - 1 - points[:, 0], points[:, 2]])
    np.testing.assert_allclose(before, after, atol=1e-4)
    other = invariant_descriptors(phantom.array, region, points[::-1])
    assert np.abs(before - other).max() > 0.1  # and it tells the two blobs apart


def test_classical_detectors_find_the_blobs_in_ras():
    phantom = _phantom()
    blobs = ras_from_ijk(np.array([[20.0, 30.0, 24.0], [40.0, 22.0, 30.0]]), phantom.ijk_to_ras)
    for name in ("DoG-3D", "Hessian-3D"):
        features = ClassicalExtractor(name).extract(phantom.array, phantom.ijk_to_ras)
        nearest = np.linalg.norm(features.keypoints[:, None] - blobs[None], axis=2).min(axis=0)
        assert nearest.max() < 4.0, name


@pytest.mark.parametrize("method", ["elastix affine", "ANTs Affine"])
def test_intensity_baselines_report_fixed_to_moving(method):
    pytest.importorskip({"elastix affine": "itk", "ANTs Affine": "ants"}[method])
    from KeypointEvaluationLib.volume.intensity import INTENSITY_METHODS

    phantom = _phantom()
    motion = np.eye(4)
    motion[:3, 3] = [6.0, -4.0, 5.0]
    moved = move_and_rescan(phantom, motion, np.random.default_rng(0), 0.0)
    estimate = INTENSITY_METHODS[method](phantom, moved)
    points = grid_points(to_working_grid(phantom.array, phantom.ijk_to_ras), 10.0)
    assert target_registration_error(estimate, motion, points) < 1.5


def test_the_benchmark_holds_out_what_training_leaves_out():
    config = json.loads((REPO / "Testing/Training/configs/sp3d-volumes.json").read_text())
    assert sorted(config["recipe_options"]["held_out"]) == sorted(HELD_OUT)


def test_the_summary_counts_a_confident_result_on_unrelated_volumes_as_wrong():
    from KeypointEvaluationLib.volume.benchmark import summarise

    def record(group, angle, tre, confident):
        return {"case": f"{group}{angle}", "group": group, "angle": angle, "cut": 0.3, "method": "m",
                "kind": "keypoints", "tre_mm": tre, "confident": confident, "seconds": 1.0, "keypoints": 500,
                "repeatability": 0.5, "matching_score": 0.4, "mdbl_mm": 3.0}

    records = [record("rotation", 5, 1.0, True), record("rotation", 20, 9.0, False), record("rotation", 25, 2.0, True),
               record("unrelated", 0, float("inf"), True)]
    row = summarise(records)["m"]
    assert row["success_by_angle"]["0-15"] == 1.0 and row["success_by_angle"]["15-30"] == 0.5
    assert row["confident_pairs"] == 3 and row["confident_precision"] == pytest.approx(2 / 3)
    assert row["confident_unrelated"] == 1 and row["repeatability"] == 0.5


def test_calibration_finds_the_rule_that_keeps_confident_results_right():
    from KeypointEngineLib.registration import ConfidenceRule
    from KeypointEvaluationLib.volume.benchmark import calibrate, summarise

    def record(inliers, matches, tre):
        return {"case": f"{inliers}/{matches}", "group": "rotation", "angle": 10.0, "cut": 0.3, "method": "m",
                "kind": "keypoints", "tre_mm": tre, "confident": True, "seconds": 1.0, "inliers": inliers,
                "matches": matches}

    records = [record(40, 100, 1.0), record(25, 100, 2.0), record(12, 100, 30.0), record(18, 200, 50.0)]
    rule, precision, recall = calibrate(records, ("m",))
    assert precision == 1.0 and recall == 1.0
    assert rule(40, 100) and rule(25, 100) and not rule(12, 100) and not rule(18, 200)
    assert summarise(records, ConfidenceRule(20, 0.2))["m"]["confident_precision"] == 1.0
