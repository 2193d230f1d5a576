"""The engine's registration step, the same for 2D and 3D: match -> fit -> guided re-matching -> refinement ->
report, here on 3D keypoints in mm with a known rigid motion."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from KeypointEngineLib.features import Features
from KeypointEngineLib.fitting import Fitter
from KeypointEngineLib.jobs import CancelToken, Job, JobCancelled
from KeypointEngineLib.registration import ConfidenceRule, register_features

RULE = ConfidenceRule(min_inliers=15, min_inlier_ratio=0.15)


def _unit(vectors):
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _volume_pair(seed=0, count=300, outliers=0.5, descriptor_noise=0.4):
    """Keypoints of a fixed volume (RAS mm) and of the moving volume after a known rigid motion; a share of the moving
    keypoints are unrelated, and descriptors differ between the volumes as between two scans."""
    rng = np.random.default_rng(seed)
    fixed_points = rng.uniform(-100, 100, (count, 3))
    rotation, shift = Rotation.from_euler("xyz", [35, -20, 60], degrees=True).as_matrix(), np.array([20, -35, 8.0])
    moving_points = fixed_points @ rotation.T + shift + rng.normal(scale=0.4, size=(count, 3))
    descriptors = rng.normal(size=(count, 64))
    moving_descriptors = descriptors + rng.normal(scale=descriptor_noise, size=descriptors.shape)
    unrelated = rng.random(count) < outliers
    moving_points[unrelated] = rng.uniform(-100, 100, (unrelated.sum(), 3))
    moving_descriptors[unrelated] = rng.normal(size=(unrelated.sum(), 64))
    scores = np.ones(count, np.float32)
    fixed = Features(fixed_points, scores, _unit(descriptors))
    moving = Features(moving_points, scores, _unit(moving_descriptors))
    return fixed, moving, rotation, shift, ~unrelated


def test_3d_registration_recovers_a_rigid_motion_and_reports_in_mm():
    fixed, moving, rotation, shift, related = _volume_pair()
    fitter = Fitter("rigid", 3, threshold=2.0, reference_size=200.0 ** 3)
    registration = register_features(fixed, moving, fitter, RULE, ratio=0.95, guided_radius=4.0, units="mm")
    report = registration.report
    assert report.success and report.confident and report.model == "rigid" and report.units == "mm"
    assert report.inliers >= 0.9 * related.sum() and report.median_residual < 1.0
    assert 0.2 < report.inlier_spread <= 1.0
    assert np.abs(registration.model.forward[:3, :3] - rotation).max() < 0.01
    assert np.abs(registration.model.forward[:3, 3] - shift).max() < 0.5
    assert registration.fixed_points.shape == (report.inliers, 3)
    assert "rigid model from" in report.summary() and " mm," in report.summary()
    json.dumps(report.to_dict(), allow_nan=False)


def test_guided_rematching_adds_inliers_the_ratio_test_dropped():
    fixed, moving, *_, related = _volume_pair(seed=1, descriptor_noise=2.0)  # descriptors barely distinctive
    fitter = Fitter("rigid", 3, threshold=2.0, reference_size=200.0 ** 3)
    without = register_features(fixed, moving, fitter, RULE, ratio=0.8)
    with_guided = register_features(fixed, moving, fitter, RULE, ratio=0.8, guided_radius=4.0)
    assert without.report.inliers < 0.2 * related.sum() and with_guided.report.inliers >= 0.95 * related.sum()


def test_refinement_result_replaces_the_fit_only_when_it_holds():
    fixed, moving, *_ = _volume_pair(seed=2)
    fitter = Fitter("rigid", 3, threshold=2.0)
    calls = []

    def refine(fit, fixed_points, moving_points):
        calls.append(len(fixed_points))
        return fixed_points[:2], moving_points[:2]  # too few located: the unrefined fit stays

    registration = register_features(fixed, moving, fitter, RULE, ratio=0.95, refine=refine)
    assert calls == [registration.report.inliers] and registration.report.success

    def exact(fit, fixed_points, moving_points):  # every inlier located exactly where the fit puts it
        return fixed_points, fit.model.fixed_to_moving(fixed_points)

    refined = register_features(fixed, moving, fitter, RULE, ratio=0.95, refine=exact)
    assert refined.report.success and refined.report.median_residual < 1e-6  # the located points were fitted
    assert refined.report.median_residual < registration.report.median_residual


def test_unrelated_features_fail_with_a_reason_and_empty_points():
    fixed, _, *_ = _volume_pair(seed=3)
    other, _, *_ = _volume_pair(seed=4)
    registration = register_features(fixed, other, Fitter("affine", 3, threshold=2.0), RULE, ratio=0.9)
    report = registration.report
    assert not report.success and not report.confident and registration.model is None
    assert "no affine transform is supported" in report.message and registration.fixed_points.shape == (0, 3)
    assert report.to_dict()["median_residual"] == float("inf")


def test_confidence_follows_the_callers_rule():
    fixed, moving, *_ = _volume_pair(seed=5)
    fitter = Fitter("rigid", 3, threshold=2.0)
    lenient = register_features(fixed, moving, fitter, ConfidenceRule(10, 0.1), ratio=0.95)
    strict = register_features(fixed, moving, fitter, ConfidenceRule(10_000, 0.1), ratio=0.95)
    assert lenient.report.confident and strict.report.success and not strict.report.confident


def test_dimensions_must_agree_and_progress_ends_at_one():
    fixed, moving, *_ = _volume_pair(seed=6)
    with pytest.raises(ValueError, match="2D model cannot be fitted to 3D"):
        register_features(fixed, moving, Fitter("affine", 2, threshold=2.0), RULE)
    seen = []
    register_features(fixed, moving, Fitter("rigid", 3, threshold=2.0), RULE, guided_radius=4.0,
                      job=Job(progress=lambda stage, fraction: seen.append(fraction)))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        register_features(fixed, moving, Fitter("rigid", 3, threshold=2.0), RULE, job=Job(cancel_token=token))
