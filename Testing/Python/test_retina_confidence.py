"""The retinal registration's confidence: true on right results, false on the failures real use meets."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import shared_data

from KeypointAlignLib.samples import sample_retina_path
from KeypointEngineLib.retina.confidence import CONFIDENCE
from KeypointEngineLib.retina.pipeline import register_pair, register_with_features
from KeypointEvaluationLib.retina.benchmark import RIGHT_PX, BenchmarkPair, make_benchmark_pair
from KeypointEvaluationLib.retina.eye_model import Eye, EyeView, EyeWarp, rotation
from KeypointEvaluationLib.retina.eye_pairs import render, source_view
from KeypointEvaluationLib.retina.fire_score import pair_error
from KeypointMRMLLib.images2d import read_image_2d

RETINA = read_image_2d(sample_retina_path()).array[0]


def _error(registration, pair) -> float:
    return pair_error(registration.model, pair.fixed_points, pair.moving_points) * pair.fire_scale


def _burn_text(image: np.ndarray) -> np.ndarray:
    """A date and patient stamp burnt into the middle of the field, as some exports do."""
    stamped = image.copy()
    rows, cols = image.shape[:2]
    for line, text in enumerate(["OD 45 deg  2026-12-01", "PATIENT 000123  CF", "FUNDUS  COLOUR"]):
        cv2.putText(stamped, text, (int(cols * 0.2), int(rows * 0.45) + line * int(rows * 0.05)),
                    cv2.FONT_HERSHEY_SIMPLEX, rows / 700, (255, 255, 255), 2)
    return stamped


def _textured_disc(like: np.ndarray, seed: int) -> np.ndarray:
    """Smooth random texture in the same field of view: an image with content, but not this eye."""
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, like.shape[:2]).astype(np.float32), (0, 0), 3)
    texture = cv2.normalize(texture, None, 20, 230, cv2.NORM_MINMAX).astype(np.uint8)
    disc = like.max(axis=2) > 20 if like.ndim == 3 else like > 20
    result = np.repeat(texture[..., None], 3, axis=2) if like.ndim == 3 else texture
    result[~disc] = 0
    return result


@pytest.mark.parametrize("category", ["high_overlap", "low_overlap", "appearance"])
def test_right_registrations_are_confident(category):
    pair = make_benchmark_pair(RETINA, category, np.random.default_rng(0), "skimage retina")
    registration = register_pair(pair.fixed, pair.moving, fixed_fov_degrees=pair.fields_of_view[0],
                                 moving_fov_degrees=pair.fields_of_view[1])
    assert _error(registration, pair) <= RIGHT_PX
    assert registration.report.confident, registration.report.message


def test_a_right_oct_enface_registration_few_matches_agree_on_is_confident():
    """Across modalities few matches agree (under a third here), as in a chance consensus; the inliers' residuals
    tell them apart (a chance consensus scatters them over the tolerance)."""
    pair = make_benchmark_pair(RETINA, "cross_modal", np.random.default_rng(7), "skimage retina")
    assert pair.modality == "oct_enface"
    registration = register_with_features(pair.fixed, pair.moving, "auto", fixed_fov_degrees=pair.fields_of_view[0],
                                          moving_fov_degrees=pair.fields_of_view[1])
    assert _error(registration, pair) <= RIGHT_PX and registration.report.inlier_ratio < 0.3
    assert registration.report.confident, registration.report.message
    assert registration.report.residual_share < CONFIDENCE.max_residual_share


def _turned_view_pair(gaze_degrees: float, offset_mm: tuple[float, float]) -> BenchmarkPair:
    """The photograph and the eye model's view after a large change of pose (the camera kept its place)."""
    rest, field = source_view(RETINA, 45.0)
    eye = Eye()
    view = EyeView(rotation(gaze_degrees, 0.7), offset_mm, 45.0, rest.aperture_centre_px, rest.aperture_diameter_px)
    moving, shown = render(RETINA, field, eye, rest, view)
    truth = EyeWarp(eye, view, rest)
    ys, xs = np.nonzero(shown[::40, ::40])
    moving_points = np.c_[xs, ys].astype(float) * 40
    fixed_points = truth.moving_to_fixed(moving_points)
    keep = field[np.clip(np.round(fixed_points[:, 1]).astype(int), 0, field.shape[0] - 1),
                 np.clip(np.round(fixed_points[:, 0]).astype(int), 0, field.shape[1] - 1)]
    return BenchmarkPair("turned", "skimage retina", RETINA, moving, fixed_points[keep], moving_points[keep],
                         2912 / rest.aperture_diameter_px)


def test_a_homography_the_retinas_curvature_defeats_is_not_confident():
    pair = _turned_view_pair(20.0, (0.0, 1.5))
    homography = register_pair(pair.fixed, pair.moving, model="projective")
    assert _error(homography, pair) > RIGHT_PX  # a wide field and a large change of pose: a homography is wrong
    assert not homography.report.confident
    assert "held-out inliers" in homography.report.message
    automatic = register_pair(pair.fixed, pair.moving)
    assert _error(automatic, pair) <= RIGHT_PX and automatic.report.confident


def test_noise_is_never_confident():
    rng = np.random.default_rng(0)
    first, second = (rng.uniform(0, 255, (600, 600)).astype(np.uint8) for _ in range(2))
    assert not register_pair(first, second).report.confident


def test_text_burnt_into_unrelated_images_is_not_confident():
    registration = register_pair(_burn_text(RETINA), _burn_text(_textured_disc(RETINA, 1)))
    assert not registration.report.confident
    assert not registration.report.success or "cover" in registration.report.message


def test_text_burnt_into_two_real_unrelated_eyes_is_not_confident():
    folder = shared_data("fundus/DRIVE/testing/images")
    first, second = (read_image_2d(folder / name).array[0] for name in ("01_test.tif", "02_test.tif"))
    registration = register_pair(_burn_text(first), _burn_text(second))
    assert registration.report.success  # the text agrees: a transform is found ...
    assert not registration.report.confident  # ... and not trusted
    assert "cover" in registration.report.message
