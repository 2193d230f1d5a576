"""Descriptor matching: global mutual nearest neighbours, and matching guided by a first transform."""

from __future__ import annotations

import numpy as np

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
