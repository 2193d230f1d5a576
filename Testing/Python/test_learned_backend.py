"""The shipped learned retinal backend: where it puts keypoints and what it registers that SIFT cannot."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import shared_data
from skimage.io import imread

from KeypointEngineLib.retina.backends import RETINA_BACKENDS
from KeypointEngineLib.retina.learned import RIM_MARGIN_PX, LearnedExtractor
from KeypointEngineLib.retina.pipeline import register_pair, register_with_features
from KeypointEngineLib.retina.preprocess import prepare
from KeypointEvaluationLib.retina.benchmark import make_benchmark_pair
from KeypointEvaluationLib.retina.fire_score import pair_error
from KeypointMRMLLib.images2d import read_image_2d


@pytest.fixture(scope="module")
def drive_test_image():
    """A real DRIVE test photograph (benchmark data, never trained on) with its manual vessel mask."""
    folder = shared_data("fundus/DRIVE/testing")
    rgb = read_image_2d(folder / "images" / "01_test.tif").array[0]
    vessels = np.squeeze(np.asarray(imread(folder / "1st_manual" / "01_manual1.gif")))
    return rgb, (vessels > vessels.max() / 2).astype(np.uint8)


@pytest.fixture(scope="module")
def extractors():
    return {prior: LearnedExtractor(device="cpu", vessel_prior=prior) for prior in (True, False)}


def _on_vessel_share(points: np.ndarray, vessels: np.ndarray, reach_px: int = 3) -> float:
    near = cv2.dilate(vessels, np.ones((2 * reach_px + 1,) * 2, np.uint8))
    index = np.round(points).astype(int)
    return float(near[index[:, 1], index[:, 0]].mean())


def test_vessel_prior_puts_keypoints_on_the_vessels(drive_test_image, extractors):
    """Vessels are what every modality shows: with the prior, the strongest keypoints are on them (about a third of
    the field of view is within 3 px of a vessel)."""
    rgb, vessels = drive_test_image
    prepared = prepare(rgb)
    (scale_x, scale_y), offset = prepared.axis_scales, prepared.to_working(np.zeros(2))
    to_working = np.array([[scale_x, 0, offset[0]], [0, scale_y, offset[1]]])
    vessels = cv2.warpAffine(vessels, to_working, prepared.image.shape[::-1], flags=cv2.INTER_NEAREST)
    strongest = {prior: extractor.extract(prepared.image, prepared.mask).keypoints[:1000]
                 for prior, extractor in extractors.items()}
    shares = {prior: _on_vessel_share(points, vessels) for prior, points in strongest.items()}
    assert shares[True] > 0.9 and shares[True] > shares[False] + 0.3, shares


def test_keypoints_keep_off_the_rim_of_the_field_of_view(drive_test_image, extractors):
    prepared = prepare(drive_test_image[0])
    points = np.round(extractors[True].extract(prepared.image, prepared.mask).keypoints).astype(int)
    distance = cv2.distanceTransform((prepared.mask > 0).astype(np.uint8), cv2.DIST_L2, 5)
    assert len(points) > 500 and distance[points[:, 1], points[:, 0]].min() >= RIM_MARGIN_PX - 1


def test_learned_backend_registers_colour_fundus_to_angiography(drive_test_image, extractors):
    """A real photograph against its simulated fluorescein angiogram (vessels turn from dark to bright)."""
    rng = np.random.default_rng(7)
    pair = next(pair for pair in (make_benchmark_pair(drive_test_image[0], "cross_modal", rng) for _ in range(20))
                if pair.modality == "angiography")
    registration = register_pair(pair.fixed, pair.moving, extractor=extractors[True])
    assert registration.report.success
    assert pair_error(registration.model, pair.fixed_points, pair.moving_points) * pair.fire_scale < 25


def test_auto_backend_keeps_sift_within_a_modality_and_falls_back_to_learned_across(drive_test_image, monkeypatch):
    """"auto" tries SIFT first and the learned model only where SIFT's registration is not confident."""
    tried, get = [], RETINA_BACKENDS.get

    def recording_get(name, device=None):  # the engine's own pool, watched
        tried.append(name)
        return get(name, device)

    monkeypatch.setattr(RETINA_BACKENDS, "get", recording_get)
    rng = np.random.default_rng(7)
    same = make_benchmark_pair(drive_test_image[0], "high_overlap", rng)
    registration = register_with_features(same.fixed, same.moving, "auto", device="cpu")
    assert tried == ["sift"] and registration.report.confident and "SIFT" in registration.report.device
    default = register_pair(same.fixed, same.moving)  # one backend per call: SIFT unless given
    assert np.allclose(default.fixed_points, registration.fixed_points)
    cross = next(pair for pair in (make_benchmark_pair(drive_test_image[0], "cross_modal", rng) for _ in range(20))
                 if pair.modality == "angiography")
    tried.clear()
    registration = register_with_features(cross.fixed, cross.moving, "auto", device="cpu")
    assert tried == ["sift", "learned"] and registration.report.confident
    assert registration.report.device.startswith("cpu")  # the learned model's device, and why
    assert pair_error(registration.model, cross.fixed_points, cross.moving_points) * cross.fire_scale < 25


def test_bench_ablates_the_vessel_prior_with_the_same_weights():
    from KeypointAlignLib.bench import methods

    candidates = methods(["learned"], 768, transforms=("auto",), ablate_vessel_prior=True)
    assert set(candidates) == {"learned+auto", "learned-no-vessel-prior+auto"}
    extractors = {name: candidates[name].__defaults__[0] for name in candidates}
    assert extractors["learned+auto"].vessel_prior and not extractors["learned-no-vessel-prior+auto"].vessel_prior
    assert extractors["learned+auto"].card.sha256 == extractors["learned-no-vessel-prior+auto"].card.sha256
