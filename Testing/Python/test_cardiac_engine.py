"""KeypointSeg's engine: KAF-UNet's shapes and padding, SIFT keypoints, slices in and labels out on the input's own
geometry, measurements and the quality flag."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from KeypointEngineLib.cardiac.keypoints import padded_batch, sift_keypoints
from KeypointEngineLib.cardiac.measurements import cardiac_function, quality, structure_volumes_ml
from KeypointEngineLib.cardiac.network import KAFConfig, KAFUNet
from KeypointEngineLib.cardiac.preprocess import normalise, slice_axis, to_slices, to_volume
from KeypointEngineLib.errors import InputError
from KeypointEvaluationLib.cardiac.phantom import short_axis_phantom


def _network(fusion=True) -> KAFUNet:
    torch.manual_seed(0)
    return KAFUNet(KAFConfig(base_features=4, keypoint_fusion=fusion, attention_depth=1)).eval()


@pytest.mark.parametrize("fusion", [True, False])
def test_network_gives_class_logits_at_input_resolution_and_tokens_per_fused_layer(fusion):
    network = _network(fusion)
    points, padding = padded_batch([np.array([[3.0, 4.0], [30.0, 20.0]]), np.array([[10.0, 10.0]])])
    output = network(torch.rand(2, 1, 32, 48), points, padding)
    assert output["logits"].shape == (2, 4, 32, 48)
    assert output["bottleneck"].shape == (2, 64, 2, 3)
    assert [tuple(t.shape) for t in output["tokens"]] == ([(2, 2, 4), (2, 2, 8), (2, 2, 16), (2, 2, 32)]
                                                          if fusion else [])


def test_a_slice_segments_the_same_whatever_its_batch_companions_keypoint_counts():
    """Padding and attention masks, not truncation: the companion's extra keypoints change nothing for a slice."""
    network = _network()
    image = torch.rand(1, 1, 32, 32)
    few = np.array([[5.0, 6.0], [20.0, 9.0]])
    alone = network(image, *padded_batch([few]))["logits"]
    many = np.random.default_rng(0).uniform(0, 31, (40, 2))
    together = network(torch.cat([image, torch.rand(1, 1, 32, 32)]), *padded_batch([few, many]))["logits"][:1]
    torch.testing.assert_close(alone, together, atol=1e-5, rtol=1e-4)


def test_a_slice_without_keypoints_still_segments():
    network = _network()
    logits = network(torch.rand(2, 1, 32, 32), *padded_batch([np.zeros((0, 2)), np.zeros((0, 2))]))["logits"]
    assert torch.isfinite(logits).all()


def test_kaf_unet_refuses_to_run_without_keypoints():
    with pytest.raises(ValueError, match="keypoints"):
        _network()(torch.rand(1, 1, 32, 32))


def test_sift_keypoints_lie_on_the_phantom_heart_and_are_unique():
    phantom = short_axis_phantom()
    image = normalise(phantom.image)[5]
    points = sift_keypoints(image, 64)
    assert 5 <= len(points) <= 64
    assert len(np.unique(points.round(1), axis=0)) == len(points)
    assert ((points >= 0) & (points < image.shape[::-1])).all()


def test_slicing_axis_is_the_thickest_one(oblique_ijk_to_ras):
    assert slice_axis(oblique_ijk_to_ras) == 0  # 3.1 mm along k
    along_i = np.diag([8.0, 1.4, 1.4, 1.0])
    assert slice_axis(along_i) == 2  # array axis of i
    assert slice_axis(np.diag([1.0, 1.0, 1.0, 1.0])) == 0  # isotropic: k


def _through_working_slices(labels, ijk_to_ras):
    """Labels -> one-hot probabilities on the working slices (as the network would give them) -> to_volume."""
    stack = to_slices(labels.astype(np.float32), ijk_to_ras)
    slices = torch.from_numpy(np.ascontiguousarray(np.moveaxis(labels, stack.axis, 0))).long()
    one_hot = torch.nn.functional.one_hot(slices, 4).movedim(-1, 1).float()
    working = torch.nn.functional.interpolate(one_hot, size=stack.working_shape, mode="nearest-exact")
    padded = torch.zeros(len(working), 4, *stack.images.shape[1:])
    padded[:, :, :working.shape[2], :working.shape[3]] = working
    assert stack.images.shape[1] % 16 == 0 and stack.images.shape[2] % 16 == 0
    return stack, to_volume(padded, stack)


@pytest.mark.parametrize("slices_along", ["k", "i"])
def test_labels_come_back_exactly_on_an_oblique_input_grid_at_the_working_spacing(slices_along):
    """Pixels of 1.25 mm: nothing is resampled, so any error of axes, order or padding shows as a mismatch."""
    from scipy.spatial.transform import Rotation

    labels = short_axis_phantom(slices=6, size=64).labels
    spacing = [1.25, 1.25, 8.0]
    if slices_along == "i":
        labels, spacing = np.ascontiguousarray(np.moveaxis(labels, 0, 2)), [8.0, 1.25, 1.25]
    ijk_to_ras = np.eye(4)
    ijk_to_ras[:3, :3] = Rotation.from_rotvec([0.4, -0.3, 0.6]).as_matrix() @ np.diag(spacing)
    ijk_to_ras[:3, 3] = [10.0, -20.0, 33.0]
    stack, back = _through_working_slices(labels, ijk_to_ras)
    assert stack.axis == (0 if slices_along == "k" else 2)
    np.testing.assert_array_equal(back, labels)


def test_labels_land_on_an_anisotropic_grid_up_to_the_resampling_at_boundaries(oblique_ijk_to_ras):
    labels = short_axis_phantom(slices=6, size=64).labels
    _, back = _through_working_slices(labels, oblique_ijk_to_ras)  # 0.7 x 1.3 mm pixels, 1.25 mm working
    assert (back == labels).mean() > 0.95
    for value in (1, 2, 3):
        np.testing.assert_allclose(np.argwhere(back == value).mean(0), np.argwhere(labels == value).mean(0), atol=0.5)


def test_any_scanner_range_normalises_alike():
    phantom = short_axis_phantom()
    as_floats = phantom.image.astype(np.float32) / 4000.0
    np.testing.assert_allclose(normalise(phantom.image), normalise(as_floats), atol=1e-5)


def test_what_cannot_be_a_short_axis_stack_is_refused():
    with pytest.raises(InputError, match="3D"):
        to_slices(np.zeros((4, 8, 8, 2)), np.eye(4))
    broken = short_axis_phantom(slices=4, size=32).image.astype(np.float32)
    broken[1, 3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        to_slices(broken, np.eye(4))
    with pytest.raises(InputError, match="constant"):
        to_slices(np.full((4, 32, 32), 7.0), np.eye(4))
    flat = np.diag([1.0, 1.0, 0.0, 1.0])
    with pytest.raises(InputError, match="orientation metadata"):
        to_slices(short_axis_phantom(slices=4, size=32).image, flat)


def test_thick_sheared_or_short_stacks_are_segmented_with_a_warning():
    from KeypointEngineLib.cardiac.inference import CardiacSegmenter

    phantom = short_axis_phantom(slices=2, size=64, slice_mm=14.0)
    sheared = phantom.ijk_to_ras.copy()
    sheared[0, 2] = 3.0  # the slice axis leans 12 degrees
    output = CardiacSegmenter(network=_network(), device="cpu").segment(phantom.image, sheared)
    text = " ".join(output.warnings)
    assert "mm apart" in text and "only 2 slices" in text and "perpendicular" in text
    assert output.labels.shape == phantom.image.shape


def test_volumes_and_function_from_voxel_counts():
    labels = np.zeros((10, 20, 20), np.uint8)
    labels[:, :10, :10] = 3  # 1000 voxels of 2 x 1 x 1.5 mm = 3 mL
    labels[:5, 10:, :10] = 2
    ijk_to_ras = np.diag([1.0, 1.5, 2.0, 1.0])
    volumes = structure_volumes_ml(labels, ijk_to_ras)
    assert volumes["Left ventricle cavity"] == pytest.approx(3.0)
    assert volumes["Left ventricle myocardium"] == pytest.approx(1.5)
    es = dict(volumes, **{"Left ventricle cavity": 1.2})
    function = cardiac_function(volumes, es)
    assert function["LV ejection fraction (%)"] == pytest.approx(60.0)
    assert function["LV myocardial mass (g)"] == pytest.approx(1.5 * 1.05)
    assert np.isnan(function["RV ejection fraction (%)"])  # no RV at all: no EF, not a division by zero


def test_quality_flag_accepts_a_heart_and_says_why_it_rejects_the_rest():
    phantom = short_axis_phantom()
    assert quality(phantom.labels, phantom.ijk_to_ras, 0).ok
    without_wall = np.where(phantom.labels == 2, 0, phantom.labels)
    verdict = quality(without_wall, phantom.ijk_to_ras, 0)
    assert not verdict.ok and any("ringed" in reason for reason in verdict.reasons)
    assert not quality(np.zeros_like(phantom.labels), phantom.ijk_to_ras, 0).ok
    split = phantom.labels.copy()
    split[4:6][split[4:6] == 3] = 0  # the raw prediction's LV cavity in two big pieces, above and below
    verdict = quality(phantom.labels, phantom.ijk_to_ras, 0, raw=split)
    assert not verdict.ok and any("pieces" in reason for reason in verdict.reasons)


def test_quality_flag_accepts_the_expert_labels_of_real_acdc_frames():
    """Its recall on truth: the experts' own segmentations of real hearts must (nearly) all pass."""
    from conftest import shared_data

    from KeypointEvaluationLib.cardiac.datasets import h5_frames

    frames = list(h5_frames(shared_data("acdc-sample")))
    verdicts = [quality(frame.labels, frame.ijk_to_ras, 0, raw=frame.labels) for frame in frames]
    assert sum(verdict.ok for verdict in verdicts) >= len(frames) - 1, [v.reasons for v in verdicts]


def test_post_processing_keeps_a_cavity_the_myocardium_closes_around():
    """MONAI's FillHoles alone would give the whole enclosed LV cavity to the myocardium."""
    from KeypointEngineLib.cardiac.inference import postprocess

    labels = np.zeros((8, 40, 40), np.uint8)
    labels[1:7, 8:32, 8:32] = 2  # a closed myocardial shell: apex and base capped
    labels[2:6, 12:28, 12:28] = 3
    labels[2:6, 18, 18] = 0  # a hole in the cavity: filled as cavity
    labels[3, 30, 30] = 0  # a hole in the wall: filled as wall
    labels[1:7, 34:38, 8:32] = 1
    labels[4, 0:2, 0:2] = 1  # a stray speck of RV: removed
    cleaned = postprocess(labels)
    assert (cleaned == 3).sum() == 4 * 16 * 16 and cleaned[3, 30, 30] == 2
    assert cleaned[4, 0, 0] == 0 and (cleaned == 1).sum() == 6 * 4 * 24


def test_post_processing_keeps_the_right_ventricle_against_the_left_not_the_biggest_bright_pool():
    from KeypointEngineLib.cardiac.inference import postprocess

    phantom = short_axis_phantom(slices=4, size=96)
    labels = phantom.labels.copy()
    labels[:, 76:95, 2:50] = 1  # a larger "RV" (3648 voxels against 2384) far from the heart: a stomach, an atrium
    cleaned = postprocess(labels)
    np.testing.assert_array_equal(cleaned == 1, phantom.labels == 1)
