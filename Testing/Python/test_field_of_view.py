"""The field-of-view mask finds the retina itself: on real photographs, angiograms and infrared fields exported with
frames, stamps, logos, rescaling and JPEG recompression, and on apertures that are not discs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import SHARED_DATA

from KeypointAlignLib.samples import sample_retina_path
from KeypointEngineLib.retina.field_of_view import field_diameter, field_of_view_mask
from KeypointEngineLib.retina.preprocess import to_gray
from KeypointEvaluationLib.retina.exported import FRAMES, Layout, Stamp, export, export_pair, random_layout
from KeypointEvaluationLib.retina.pair import BenchmarkPair
from KeypointMRMLLib.images2d import read_image_2d

REAL = ["fundus/DRIVE/testing/images/01_test.tif", "fundus/CHASEDB1/Image_05L.jpg",
        "fundus-modalities/fa/arterial_phase_00004.jpg", "fundus-modalities/fa/brvo_BRVO0030.jpg",
        "fundus-modalities/ir/spectralis_Willis_B_716_0.png"]


def _real_images():
    images = [("scikit-image retina", read_image_2d(sample_retina_path()).array[0])]
    for relative in REAL:
        path = SHARED_DATA / relative
        if path.exists():
            images.append((relative, read_image_2d(path).array[0]))
    return images


def _clean_mask_in_export(mask, shape, offset, scale):
    """The original image's mask and its extent, carried into an export of `shape` (exported px from original px as
    export() maps them)."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    x = ((xs + 0.5) / scale[0] - 0.5 - offset[0]).astype(np.float32)
    y = ((ys + 0.5) / scale[1] - 0.5 - offset[1]).astype(np.float32)
    carried = cv2.remap(mask, x, y, cv2.INTER_NEAREST, borderValue=0) > 0
    extent = cv2.remap(np.full_like(mask, 255), x, y, cv2.INTER_NEAREST, borderValue=0) > 0
    return carried, extent


@pytest.mark.parametrize("seed", range(3))
def test_exported_real_images_keep_their_retina_and_nothing_of_the_frame(seed):
    rng = np.random.default_rng(seed)
    for name, image in _real_images():
        clean = field_of_view_mask(to_gray(image))
        for frame in FRAMES.values():  # every frame colour, the rest of the layout random
            layout = random_layout(rng)
            layout = Layout(frame, layout.margins, layout.stamps, layout.logo, layout.scale, layout.jpeg_quality)
            exported, offset, scale = export(image, layout, rng)
            found = field_of_view_mask(to_gray(exported)) > 0
            expected, extent = _clean_mask_in_export(clean, exported.shape[:2], offset, scale)
            overlap = (found & expected).sum() / (found | expected).sum()
            assert overlap > 0.88, (name, frame, overlap)
            assert (found & ~extent).sum() < 0.03 * found.sum(), (name, frame)  # the frame is not retina
            diameter = field_diameter(found) / (field_diameter(clean) * scale.mean())
            assert diameter == pytest.approx(1.0, abs=0.15), (name, frame)


def test_stamps_in_a_photograph_s_dark_corners_are_no_retina():
    image = read_image_2d(sample_retina_path()).array[0]
    stamps = tuple(Stamp(text, where, (255, 255, 255), 0.04) for text, where in
                   (("2019-03-14", (0.02, 0.05)), ("OD 45 deg", (0.75, 0.97)), ("ID 004512", (0.02, 0.97))))
    exported, offset, scale = export(image, Layout(FRAMES["black"], (0, 0, 0, 0), stamps, (0.9, 0.02), 1.0, 85),
                                     np.random.default_rng(0))
    found = field_of_view_mask(to_gray(exported)) > 0
    expected, _ = _clean_mask_in_export(field_of_view_mask(to_gray(image)), exported.shape[:2], offset, scale)
    for x, y in ((0.05, 0.04), (0.8, 0.96), (0.05, 0.96), (0.92, 0.03)):  # on the stamps and the logo
        assert not found[round(y * found.shape[0]), round(x * found.shape[1])]
    assert (found & expected).sum() / (found | expected).sum() > 0.97


def _canvas(size=600):
    """A textured retina-like field to cut apertures from (noise and vessels-like lines, never flat)."""
    rng = np.random.default_rng(1)
    field = cv2.GaussianBlur(rng.normal(120, 30, (size, size)).astype(np.float32), (0, 0), 2)
    for _ in range(30):
        start, end = rng.integers(0, size, 2), rng.integers(0, size, 2)
        cv2.line(field, tuple(map(int, start)), tuple(map(int, end)), 60, 3)
    return np.clip(field + rng.normal(0, 3, field.shape), 0, 255).astype(np.uint8)  # a sensor's noise over all


def test_apertures_that_are_not_discs_come_out_as_they_are():
    field = _canvas()
    square = np.zeros_like(field)
    square[100:460, 140:500] = 255  # a scanning-laser field inside a black export
    notched = np.zeros_like(field)
    cv2.circle(notched, (300, 300), 250, 255, cv2.FILLED)
    cv2.rectangle(notched, (280, 40), (320, 90), 0, cv2.FILLED)  # the notch some cameras cut at the top
    clipped = np.zeros_like(field)
    cv2.circle(clipped, (300, 300), 330, 255, cv2.FILLED)  # a disc the sensor clips on all four sides
    for aperture in (square, notched, clipped):
        found = field_of_view_mask(np.where(aperture > 0, field, 0).astype(np.uint8))
        assert ((found > 0) == (aperture > 0)).mean() > 0.98
    assert field_diameter(square) == pytest.approx(360, abs=1)  # its side: a square field spans its side
    assert field_diameter(notched) == pytest.approx(501, abs=2)  # the circle through the rim, notch or not
    assert field_diameter(clipped) == pytest.approx(661, abs=3)  # more than the image: the clipped circle's


def test_a_photograph_filling_a_white_figure_panel_is_found_alone():
    image = read_image_2d(sample_retina_path()).array[0][::2, ::2]
    panel = np.full((1400, 1600, 3), 255, np.uint8)
    panel[400:400 + image.shape[0], 200:200 + image.shape[1]] = image
    cv2.putText(panel, "Figure 3  (a) baseline", (220, 330), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (0, 0, 0), 4)
    found = field_of_view_mask(to_gray(panel)) > 0
    inside = np.zeros_like(found)
    inside[400:400 + image.shape[0], 200:200 + image.shape[1]] = field_of_view_mask(to_gray(image)) > 0
    assert (found & inside).sum() / (found | inside).sum() > 0.95


def test_an_image_with_no_border_is_all_retina_and_export_pairs_carry_their_truth():
    field = _canvas()
    assert (field_of_view_mask(field) > 0).all()
    rng = np.random.default_rng(3)
    moving_points = np.array([[100.0, 120.0], [400.0, 300.0], [250.0, 500.0]])
    pair = BenchmarkPair("high_overlap", "canvas", np.dstack([field] * 3), np.dstack([field] * 3),
                         moving_points + [5.0, -3.0], moving_points, 4.0, truth=lambda points: points + [5.0, -3.0])
    exported = export_pair(pair, rng)
    assert exported.category == "exported" and exported.fixed.shape != pair.fixed.shape
    assert np.allclose(exported.truth(exported.moving_points), exported.fixed_points, atol=1e-9)
    def fire_distance(points, fire_scale):  # errors are fixed px times fire_scale: a distance must keep its size
        return np.linalg.norm(points[0] - points[1]) * fire_scale

    assert fire_distance(exported.fixed_points, exported.fire_scale) == pytest.approx(
        fire_distance(pair.fixed_points, pair.fire_scale), rel=0.01)


@pytest.mark.parametrize("scale", [0.6, 1.4])
def test_export_maps_points_where_the_image_content_went(scale):
    image = np.zeros((200, 240, 3), np.uint8)
    cv2.circle(image, (150, 110), 12, (200, 200, 200), cv2.FILLED)
    layout = Layout(FRAMES["black"], (0.1, 0.05, 0.2, 0.15), (), None, scale, 95)
    exported, offset, factors = export(image, layout, np.random.default_rng(0))
    ys, xs = np.nonzero(exported.max(axis=2) > 100)
    mapped = (np.array([150.0, 110.0]) + offset + 0.5) * factors - 0.5
    np.testing.assert_allclose([xs.mean(), ys.mean()], mapped, atol=0.3)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_grey_conversion_stretches_between_the_half_percentiles_whatever_the_pixel_type(dtype):
    """The uint8 path (a histogram and a look-up table, for full-size photographs) gives np.percentile's stretch."""
    image = read_image_2d(sample_retina_path()).array[0].astype(dtype)
    green = image[..., 1].astype(np.float64)
    low, high = np.percentile(green, [0.5, 99.5])
    expected = np.clip((green - low) / (high - low) * 255.0, 0, 255).astype(np.uint8)
    found = to_gray(image)
    assert found.dtype == np.uint8 and found.shape == expected.shape
    assert np.abs(found.astype(int) - expected).max() <= 1 and (found != expected).mean() < 1e-3
