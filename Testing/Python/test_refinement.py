"""Subpixel refinement of correspondences by template matching, on a real fundus photograph (scikit-image's retina)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from KeypointEngineLib.refinement import local_linear_maps, refine_correspondences
from KeypointEngineLib.retina.preprocess import prepare

# fixed px -> moving px: rotated by 7°, scaled by 1.06, shifted by a fraction of a pixel
ANGLE, SCALE, SHIFT = np.deg2rad(7.0), 1.06, np.array([13.37, -8.61])
TRUE = SCALE * np.array([[np.cos(ANGLE), -np.sin(ANGLE)], [np.sin(ANGLE), np.cos(ANGLE)]])


def _true_mapping(points: np.ndarray) -> np.ndarray:
    return points @ TRUE.T + SHIFT


@pytest.fixture(scope="module")
def pair():
    """The retina at working scale and its view through the affine motion above; points on structure, inside."""
    fixed = prepare(data.retina()).image
    moving = cv2.warpAffine(fixed, np.c_[TRUE, SHIFT], fixed.shape[::-1], flags=cv2.INTER_CUBIC)
    corners = cv2.goodFeaturesToTrack(fixed, 300, 0.01, 12).reshape(-1, 2).astype(np.float64)
    inside = np.all((corners > 60) & (corners < np.array(fixed.shape[::-1]) - 60), axis=1)
    return fixed, moving, corners[inside]


def test_local_linear_maps_are_the_jacobian():
    points = np.array([[10.0, 20.0], [300.0, -40.0]])
    assert np.allclose(local_linear_maps(_true_mapping, points), TRUE)


def test_refinement_recovers_subpixel_positions_from_a_rough_transform(pair):
    fixed, moving, points = pair
    rough_error = np.array([1.6, -1.1])  # what a keypoint detector on whole pixels leaves

    located, accepted = refine_correspondences(fixed, moving, points, lambda p: _true_mapping(p) + rough_error)
    errors = np.linalg.norm(located - _true_mapping(points), axis=1)
    assert accepted.mean() > 0.6
    assert np.median(errors[accepted]) < 0.15 and np.percentile(errors[accepted], 90) < 0.4
    assert np.allclose(located[~accepted], _true_mapping(points[~accepted]) + rough_error)  # the prediction


def test_refinement_follows_inverted_contrast(pair):
    """Vessels dark in colour fundus turn bright in fluorescein angiography."""
    fixed, moving, points = pair
    located, accepted = refine_correspondences(fixed, 255 - moving, points, lambda p: _true_mapping(p) + 1.2)
    errors = np.linalg.norm(located - _true_mapping(points), axis=1)
    assert accepted.mean() > 0.6 and np.median(errors[accepted]) < 0.15


def test_refinement_rejects_what_it_cannot_locate(pair):
    fixed, moving, points = pair
    noise = np.random.default_rng(0).integers(0, 256, moving.shape, dtype=np.uint8)
    _, accepted = refine_correspondences(fixed, noise, points, _true_mapping)
    assert accepted.mean() < 0.05  # no clear correlation peak in noise
    _, accepted = refine_correspondences(fixed, moving, np.array([[-500.0, -500.0]]), _true_mapping)
    assert not accepted.any()  # outside the image: a flat patch
    located, accepted = refine_correspondences(fixed, moving, np.zeros((0, 2)), _true_mapping)
    assert located.shape == (0, 2) and accepted.shape == (0,)


def test_working_pixels_map_back_exactly_although_sizes_are_whole_pixels():
    """Scaling a crop to a whole number of px changes each axis's scale a little: a blob's position measured at
    working scale must still map back onto where it is in the original (a single nominal scale is off here)."""
    rows, cols, centre = 1001, 1003, np.array([830.3, 741.7])
    y, x = np.mgrid[0:rows, 0:cols]
    disc = (x - 500) ** 2 + (y - 500) ** 2 < 497 ** 2
    bright = (x - 300) ** 2 + (y - 300) ** 2 < 80 ** 2  # sets the grey range: the disc itself is not white
    blob = np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / (2 * 6.0 ** 2))
    prepared = prepare(np.where(disc, 120 + 80 * bright - 90 * blob, 0).astype(np.float32))

    def measured(image):  # the blob's centroid, working px
        col, row = np.round(centre * prepared.scale).astype(int)  # near the blob (CLAHE brightens the rim)
        window = image[row - 15:row + 16, col - 15:col + 16].astype(float)
        weights = np.clip(np.median(window) - window, 0, None)  # the blob is dark, as vessels are
        ys, xs = np.mgrid[row - 15:row + 16, col - 15:col + 16]
        return np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()

    found = prepared.to_original(measured(prepared.image))
    nominal = (measured(prepared.image) + 0.5) / prepared.scale - 0.5 + prepared.origin
    assert np.linalg.norm(found - centre) < 0.1, found
    assert np.linalg.norm(nominal - centre) > 0.3  # what the mapping with one nominal scale was off by


def test_subpixel_refinement_makes_registration_more_precise():
    """A real photograph under a known retinal warp: refined inliers give a more precise transform than keypoints."""
    from KeypointEngineLib.retina.backends import RETINA_BACKENDS
    from KeypointEngineLib.retina.pipeline import register_pair
    from KeypointEvaluationLib.retina.benchmark import make_benchmark_pair
    from KeypointEvaluationLib.retina.fire_score import pair_error

    pair = make_benchmark_pair(data.retina(), "appearance", np.random.default_rng(3), "skimage retina", "legacy")
    errors, extractor = {}, RETINA_BACKENDS.get("learned")
    for subpixel in (True, False):
        registration = register_pair(pair.fixed, pair.moving, extractor=extractor, subpixel=subpixel)
        assert registration.report.success
        errors[subpixel] = pair_error(registration.model, pair.fixed_points, pair.moving_points)
    assert errors[True] < 0.15 and errors[True] < 0.7 * errors[False], errors
