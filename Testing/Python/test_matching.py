"""Descriptor matching: global mutual nearest neighbours, and matching guided by a first transform."""

from __future__ import annotations

import numpy as np
import pytest

from KeypointEngineLib.features import Features
from KeypointEngineLib.matching import match_guided, match_mutual_nearest


def _features(points, descriptors) -> Features:
    descriptors = np.asarray(descriptors, np.float32)
    descriptors /= np.linalg.norm(descriptors, axis=1, keepdims=True)
    return Features(np.asarray(points, np.float32), np.ones(len(points), np.float32), descriptors)


def test_mutual_nearest_neighbours_with_ratio_test():
    fixed = _features([[0, 0], [10, 0]], [[1, 0, 0], [0, 1, 0]])
    moving = _features([[5, 5], [6, 6], [7, 7]], [[0.9, 0.1, 0], [0, 1, 0.05], [0, 1, -0.06]])
    matches = match_mutual_nearest(fixed, moving)
    assert list(zip(matches.fixed_index, matches.moving_index, strict=True)) == [(0, 0), (1, 1)]
    # the second fixed keypoint has two similar candidates: a strict ratio test drops it
    strict = match_mutual_nearest(fixed, moving, ratio=0.6)
    assert list(strict.fixed_index) == [0]


def test_guided_matching_takes_the_best_descriptor_near_the_prediction():
    rng = np.random.default_rng(0)
    descriptors = rng.normal(size=(50, 16))
    points = rng.uniform(0, 500, (50, 2))
    fixed = _features(points, descriptors)
    shift = np.array([20.0, -10.0])
    # the moving image has the same keypoints shifted, with noisy descriptors, plus a decoy that is a better
    # descriptor match for keypoint 0 but lies far from where the transform puts it
    moving_descriptors = np.vstack([descriptors + rng.normal(scale=0.6, size=descriptors.shape), descriptors[:1]])
    moving = _features(np.vstack([points + shift, [[999.0, 999.0]]]), moving_descriptors)
    guided = match_guided(fixed, moving, points + shift, radius=5.0)
    assert len(guided) == 50
    assert np.array_equal(guided.fixed_index, guided.moving_index)  # the decoy (index 50) is never taken
    assert len(set(guided.moving_index)) == len(guided)  # mutual: one fixed keypoint per moving one


def test_guided_matching_without_candidates_is_empty():
    fixed = _features([[0, 0]], [[1, 0]])
    moving = _features([[100, 100]], [[1, 0]])
    assert len(match_guided(fixed, moving, np.array([[0.0, 0.0]]), radius=5.0)) == 0
    assert len(match_guided(fixed, moving, np.array([[np.nan, np.nan]]), radius=5.0)) == 0


def _volume_features(points, descriptors) -> Features:
    return _features(points, descriptors)


def test_matching_works_on_3d_keypoints():
    """The same mutual-nearest and guided matching on (x, y, z) keypoints, e.g. in RAS mm."""
    rng = np.random.default_rng(1)
    descriptors = rng.normal(size=(40, 32))
    points = rng.uniform(-80, 80, (40, 3))
    shift = np.array([12.0, -7.0, 30.0])
    fixed = _volume_features(points, descriptors)
    moving = _volume_features(points[::-1] + shift, descriptors[::-1] + rng.normal(scale=0.05, size=(40, 32)))
    matches = match_mutual_nearest(fixed, moving, ratio=0.9)
    assert len(matches) == 40 and np.array_equal(matches.moving_index, 39 - matches.fixed_index)
    fixed_points, moving_points = matches.points(fixed, moving)
    assert fixed_points.shape == (40, 3) and np.allclose(moving_points - fixed_points, shift, atol=1e-4)
    guided = match_guided(fixed, moving, points + shift + 1.0, radius=3.0)  # within sqrt(3) mm of the truth
    assert len(guided) == 40 and np.array_equal(guided.moving_index, 39 - guided.fixed_index)
    assert len(match_guided(fixed, moving, points, radius=3.0)) == 0  # without the shift, nothing is near


def test_features_know_their_dimension_and_refuse_other_shapes():
    assert Features.empty(3, 64).keypoints.shape == (0, 3) and Features.empty(3, 64).descriptors.shape == (0, 64)
    assert Features.empty(2, 128).dimension == 2
    with pytest.raises(ValueError, match=r"\(N, 2\) or \(N, 3\)"):
        Features(np.zeros((4, 4), np.float32), np.zeros(4, np.float32), np.zeros((4, 8), np.float32))
