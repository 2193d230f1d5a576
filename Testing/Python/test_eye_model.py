"""The eye model of real fundus pairs: its geometry, and the pairs the benchmark makes with it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from KeypointAlignLib.samples import sample_retina_path
from KeypointEvaluationLib.retina.eye_model import Eye, EyeView, EyeWarp, random_eye, rotation
from KeypointEvaluationLib.retina.eye_pairs import make_eye_pair
from KeypointEvaluationLib.retina.pair import OVERLAP_RANGES
from KeypointMRMLLib.images2d import read_image_2d

RETINA = read_image_2d(sample_retina_path()).array[0][::2, ::2].copy()
GRID = np.mgrid[100:900:25j, 100:900:25j].reshape(2, -1).T.astype(float)


def _view(gaze=0.0, direction=0.0, offset=(0.0, 0.0), field=45.0, torsion=0.0):
    return EyeView(rotation(gaze, direction, torsion), offset, field, (500.0, 500.0), 900.0)


def _residuals_px_at_2912(warp: EyeWarp) -> tuple[float, float]:
    """Mean residual (px on a 2912-px field) of the best homography and the best quadratic through the truth."""
    fixed = warp.moving_to_fixed(GRID)
    seen = np.isfinite(fixed).all(1) & warp.fixed.in_aperture(fixed) & warp.moving.in_aperture(GRID)
    moving, fixed = GRID[seen], fixed[seen]
    homography, _ = cv2.findHomography(moving, fixed, 0)
    projective = cv2.perspectiveTransform(moving[None], homography)[0]
    x, y = moving.T
    design = np.c_[np.ones_like(x), x, y, x * x, x * y, y * y]
    quadratic = design @ np.linalg.lstsq(design, fixed, rcond=None)[0]
    scale = 2912 / warp.fixed.aperture_diameter_px
    return (float(np.linalg.norm(projective - fixed, axis=1).mean() * scale),
            float(np.linalg.norm(quadratic - fixed, axis=1).mean() * scale))


def test_the_field_of_view_is_the_cone_angle_at_the_nodal_point():
    eye, view = Eye(), _view()
    centre, rim = view.retina_points(eye, np.array([[500.0, 500.0], [950.0, 500.0]])) - eye.nodal_point
    assert np.degrees(np.arccos(centre @ rim / np.linalg.norm(centre) / np.linalg.norm(rim))) == pytest.approx(22.5)
    np.testing.assert_allclose(view.retina_points(eye, np.array([[500.0, 500.0]]))[0], [0, 0, -12.0], atol=1e-9)


def test_a_view_maps_onto_itself_and_the_inverse_undoes_the_warp():
    eye = random_eye(np.random.default_rng(0))
    same = EyeWarp(eye, _view(8, 1.0, (1.0, -0.5)), _view(8, 1.0, (1.0, -0.5)))
    np.testing.assert_allclose(same.moving_to_fixed(GRID), GRID, atol=1e-8)
    warp = EyeWarp(eye, _view(10, 0.3, (0.8, 0.2), torsion=4), _view(2, 2.0, (-0.5, 0.4)))
    mapped = warp.moving_to_fixed(GRID)
    back = warp.inverse().moving_to_fixed(mapped)
    np.testing.assert_allclose(back, GRID, atol=1e-6)


def test_gaze_moves_the_view_towards_its_direction_in_the_rest_image():
    eye = Eye()
    for direction, expected in ((0.0, [1, 0]), (np.pi / 2, [0, 1])):
        centre = EyeWarp(eye, _view(15, direction), _view()).moving_to_fixed(np.array([[500.0, 500.0]]))[0]
        shift = centre - 500.0
        np.testing.assert_allclose(shift / np.linalg.norm(shift), expected, atol=1e-9)


def test_a_projection_centre_that_never_moves_gives_an_exact_homography():
    # rotating about the nodal point itself with no pupil offset: a pure camera rotation, so a homography is exact
    eye = Eye(semi_axes_mm=(12.5, 11.8, 12.2), nodal_mm=17.0, rotation_centre_mm=17.0)
    projective, _ = _residuals_px_at_2912(EyeWarp(eye, _view(10, 0.0), _view(10, np.pi)))
    assert projective < 1e-3


def test_a_straying_projection_centre_bends_a_homography_but_not_a_quadratic():
    """What the first benchmark could not show: after a large change of pose over a wide field, with the camera kept
    in place, the best homography is off by more than FIRE's 5-px criterion while a quadratic (the curved-retina
    model) stays well inside it."""
    eye = Eye()
    projective, quadratic = _residuals_px_at_2912(EyeWarp(eye, _view(10, np.pi, (1.5, 0.0)), _view(10, 0.0)))
    assert projective > 5.0 and quadratic < projective / 4
    small_projective, _ = _residuals_px_at_2912(EyeWarp(eye, _view(2, np.pi), _view(0, 0.0)))
    assert small_projective < projective / 3  # nearly the same pose: nearly projective


@pytest.mark.parametrize("category", sorted(OVERLAP_RANGES))
def test_eye_pairs_put_control_points_on_retina_both_views_show(category):
    pair = make_eye_pair(RETINA, category, np.random.default_rng(3), "retina")
    fixed_gray, moving_gray = (image if image.ndim == 2 else image.max(axis=2) for image in (pair.fixed, pair.moving))
    assert len(pair.fixed_points) == 10
    for gray, points in ((fixed_gray, pair.fixed_points), (moving_gray, pair.moving_points)):
        inside = [0 <= x < gray.shape[1] and 0 <= y < gray.shape[0] for x, y in points]
        assert all(inside) and all(gray[int(round(y)), int(round(x))] > 0 for x, y in points)
    spread = np.ptp(pair.moving_points, axis=0).max()
    assert spread > 0.2 * RETINA.shape[0]  # well spread, not clustered


def _px_area_at(mapping, point: np.ndarray) -> float:
    """Fixed px per moving px where `mapping` (moving px -> fixed px) takes `point` (1, 2): its Jacobian's
    determinant by central differences."""
    d_x, d_y = ((mapping(point + step) - mapping(point - step))[0] / 2 for step in ([1.0, 0.0], [0.0, 1.0]))
    return abs(d_x[0] * d_y[1] - d_x[1] * d_y[0])


@pytest.mark.parametrize("category", sorted(OVERLAP_RANGES))
def test_pairs_overlap_as_their_category_says(category):
    """Recounted from the images: moving pixels showing retina, carried by the truth onto fixed pixels showing it.
    A scale pair's moving image was resampled to another px size after the draw counted its overlap: its px count at
    their area in fixed px."""
    low, high = OVERLAP_RANGES[category]
    for seed in range(2):
        pair = make_eye_pair(RETINA, category, np.random.default_rng(seed), "retina")
        fixed_shown, moving_shown = ((image if image.ndim == 2 else image.max(axis=2)) > 0
                                     for image in (pair.fixed, pair.moving))
        ys, xs = np.nonzero(moving_shown)
        area = _px_area_at(pair.truth, np.array([[xs.mean(), ys.mean()]])) if category == "scale" else 1.0
        landed = np.round(pair.truth(np.c_[xs, ys].astype(float))).astype(int)
        rows, cols = fixed_shown.shape
        inside = (landed[:, 0] >= 0) & (landed[:, 0] < cols) & (landed[:, 1] >= 0) & (landed[:, 1] < rows)
        both = fixed_shown[landed[inside, 1], landed[inside, 0]].sum() * area
        overlap = both / min(moving_shown.sum() * area, fixed_shown.sum())
        assert low - 0.03 <= overlap <= high + 0.01 and overlap == pytest.approx(pair.overlap, abs=0.03)


def test_infrared_and_oct_views_are_square_fields_inside_the_photograph():
    rng = np.random.default_rng(0)
    pairs = [make_eye_pair(RETINA, "cross_modal", rng, "retina") for _ in range(6)]
    square = [pair for pair in pairs if pair.modality in ("infrared", "oct_enface")]
    assert square, "six draws should include an infrared or OCT en-face view"
    disc = 2 * np.sqrt((RETINA.max(axis=2) > 20).sum() / np.pi)
    for pair in square:
        rows, cols = np.nonzero(pair.moving > 0)
        height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert (pair.moving > 0).sum() / (height * width) > 0.9  # a square field, not a disc (pi/4 of its box)
        # a 30° square at the photograph's focal length, inside its 45° disc
        assert width == pytest.approx(disc * np.tan(np.deg2rad(15)) / np.tan(np.deg2rad(22.5)), rel=0.08)
        assert pair.fields_of_view == (45.0, 30.0)  # what a user of those devices would say
