"""Training of the learned retinal backend: labels, losses, pair synthesis and the recipe's loss terms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from KeypointAlignLib.samples import sample_retina_path
from KeypointEngineLib.retina.network import NetworkConfig, RetinaKeypointNet
from KeypointEvaluationLib.retina.appearance import vessels_and_background
from KeypointMRMLLib.images2d import read_image_2d
from KeypointTraining.retina import losses
from KeypointTraining.retina.data import RetinaImage, RetinaPairs
from KeypointTraining.retina.labels import gaussian_heatmap, vessel_junctions
from KeypointTraining.retina.recipe import compute_losses


def test_junctions_are_found_where_vessels_cross_and_branch():
    mask = np.zeros((80, 80), np.uint8)
    mask[40, 5:75] = 1  # horizontal vessel
    mask[5:75, 20] = 1  # crossing it
    mask[40:75, 60] = 1  # branching off it
    found = vessel_junctions(mask)
    assert len(found) == 2
    assert min(np.linalg.norm(found - [20, 40], axis=1)) < 2 and min(np.linalg.norm(found - [60, 40], axis=1)) < 2


def test_gaussian_heatmap_has_unit_peaks_at_points():
    heatmap = gaussian_heatmap(np.array([[10.0, 12.0], [30.0, 5.0]]), (20, 40))
    assert heatmap[12, 10] == pytest.approx(1.0, abs=0.05) and heatmap[5, 30] == pytest.approx(1.0, abs=0.05)
    assert heatmap[0, 0] < 1e-3


def test_average_precision_is_one_when_the_match_ranks_first():
    similarity = torch.tensor([[0.9, 0.2, 0.1], [0.1, 0.5, 0.8]])
    positive = torch.tensor([[True, False, False], [True, False, False]])
    ap = losses.average_precision(similarity, positive, torch.zeros_like(positive))
    assert ap[0] == pytest.approx(1.0, abs=1e-5) and ap[1] < 0.5


def test_repeatability_loss_rewards_matching_peaky_maps():
    flow = torch.stack(torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="xy"), dim=-1)[None]
    valid = torch.ones(1, 1, 32, 32)
    peaks = torch.zeros(1, 1, 32, 32)
    peaks[0, 0, 8::16, 8::16] = 1.0
    other = torch.roll(peaks, shifts=(5, 5), dims=(2, 3))
    same = losses.repeatability_loss(peaks, peaks, flow, valid)
    assert same < losses.repeatability_loss(peaks, other, flow, valid)
    assert same < losses.repeatability_loss(torch.full_like(peaks, 0.5), torch.full_like(peaks, 0.5), flow, valid)


@pytest.fixture(scope="module")
def retina_image() -> RetinaImage:
    """scikit-image's retina as a training image, with a vessel map standing in for a manual mask."""
    rgb = read_image_2d(sample_retina_path()).array[0][::2, ::2].copy()
    vessels, _, fov = vessels_and_background(rgb)
    vessel_mask = (vessels > 0.3).astype(np.uint8)
    return RetinaImage("retina", rgb, vessel_mask, fov.astype(np.uint8),
                       gaussian_heatmap(vessel_junctions(vessel_mask), vessel_mask.shape))


@pytest.mark.parametrize("geometry", ["warp", "eye"])
def test_training_pairs_are_reproducible_and_their_flow_is_right(retina_image, geometry):
    pairs = RetinaPairs([retina_image], length=10, patch=96, geometry=geometry)
    first, again = pairs[3], pairs[3]
    torch.testing.assert_close(first["image_b"], again["image_b"])
    # the label heatmap is the same in both views: B's must equal A's read through the flow
    a_in_b = losses.warp_to_b(first["keypoints_a"][None], first["flow"][None])[0]
    valid = first["valid"] > 0
    assert valid.float().mean() >= 0.5
    assert (a_in_b - first["keypoints_b"])[valid].abs().mean() < 0.02
    assert (first["vessels_b"] - losses.warp_to_b(first["vessels_a"][None], first["flow"][None])[0])[
        valid].abs().mean() < 0.1


def test_camera_apertures_stay_with_each_view_not_the_retina(retina_image):
    pairs = RetinaPairs([retina_image], length=40, patch=96, camera_apertures=True)
    views_with_rim, rim_disagreements = 0, 0
    for index in range(16):
        sample = pairs[index]
        for view in "ab":
            assert (sample[f"image_{view}"][sample[f"fov_{view}"] == 0] == 0).all()  # black outside, as at inference
            views_with_rim += bool(sample[f"fov_{view}"].mean() < 1)
        a_in_b = losses.warp_to_b(sample["fov_a"][None], sample["flow"][None])[0]
        valid = sample["valid"] > 0
        assert (sample["fov_b"][valid] > 0).all() and (a_in_b[valid] > 0.5).float().mean() > 0.99
        inside_a = losses.warp_to_b(torch.ones_like(sample["fov_a"])[None], sample["flow"][None])[0] > 0.99
        rim_disagreements += bool(((a_in_b > 0.5) != (sample["fov_b"] > 0))[inside_a].float().mean() > 0.02)
    assert 8 <= views_with_rim <= 24  # about half of the 32 views
    assert rim_disagreements >= 4  # A's rim seen from B is not where B's rim is: the rims do not follow the flow


@pytest.mark.parametrize("attention, vessels", [(True, True), (False, False)])
def test_recipe_loss_terms_follow_the_switches(retina_image, attention, vessels):
    pairs = RetinaPairs([retina_image], length=4, patch=96)
    batch = torch.utils.data.default_collate([pairs[i] for i in range(2)])
    model = RetinaKeypointNet(NetworkConfig(keypoint_attention=attention, vessel_branch=vessels,
                                            attention_keypoints=16))
    terms = compute_losses(model, batch, {"heatmap_labels": True})
    assert {"ap", "repeatability", "heatmap"} <= set(terms)
    assert ("contrastive" in terms) == attention and ("vessels" in terms) == vessels
    total = sum(terms.values())
    total.backward()
    assert torch.isfinite(total) and model.enc0[0].conv.weight.grad.abs().sum() > 0


def test_exported_network_runs_as_the_learned_backend(tmp_path, retina_image):
    from KeypointEngineLib.registry import ModelRegistry
    from KeypointEngineLib.retina.learned import LearnedExtractor
    from KeypointTraining.export import export_model

    config = NetworkConfig(attention_keypoints=32)
    export_model(RetinaKeypointNet(config), "retina-keypoints", tmp_path,
                 {"architecture": "RetinaKeypointNet", "network": config.to_dict()}, metrics={})
    extractor = LearnedExtractor(device="cpu", max_keypoints=200, registry=ModelRegistry(tmp_path))
    image = (retina_image.rgb[:250, :300, 1]).copy()  # not a multiple of 8: padding must be handled
    features = extractor.extract(image, retina_image.fov[:250, :300] * 255)
    assert 0 < len(features) <= 200 and features.descriptors.shape[1] == config.descriptor_dim
    assert features.keypoints[:, 0].max() < 300 and features.keypoints[:, 1].max() < 250
    np.testing.assert_allclose(np.linalg.norm(features.descriptors, axis=1), 1.0, atol=1e-5)


def test_real_training_images_load_at_the_working_scale():
    """CHASE_DB1 (30° field of view) and DRIVE (45°) end up at the same retinal scale, with junction labels."""
    from conftest import shared_data

    from KeypointEngineLib.retina.field_of_view import field_diameter, field_of_view_mask
    from KeypointEngineLib.retina.preprocess import to_gray
    from KeypointTraining.retina.data import load_image, training_sources

    sources = training_sources(shared_data("fundus").parent)
    assert len(sources) == 48
    chase = load_image(*next(s for s in sources if s[0].startswith("Image_")), working_size=768)
    drive = load_image(*next(s for s in sources if s[0].endswith("_training")), working_size=768)
    for image, degrees in ((chase, 30), (drive, 45)):
        diameter = field_diameter(field_of_view_mask(to_gray(image.rgb)))
        assert diameter == pytest.approx(768 * degrees / 45, rel=0.05)
        assert (image.keypoints > 0.9).sum() > 30 and image.vessels.mean() > 0.05


def test_real_angiograms_train_beside_photographs_with_vessels_found_from_the_image(retina_image):
    from dataclasses import replace

    from conftest import shared_data

    from KeypointTraining.retina.data import angiogram_sources, load_image

    sources = angiogram_sources(shared_data("fundus-modalities/fa").parents[1])
    assert len(sources) > 100 and all(mask is None for _, _, mask, _ in sources)
    angiogram = load_image(*sources[0], 768)
    share = angiogram.vessels.sum() / angiogram.fov.sum()
    assert angiogram.angiogram and 0.03 < share < 0.3  # bright thin vessels, neither nothing nor the background
    assert (angiogram.keypoints > 0.5).sum() > 50  # their junctions label keypoints
    photograph = replace(retina_image, name="photograph")
    pairs = RetinaPairs([photograph, angiogram], length=40, patch=96, angiogram_share=0.25)
    assert pairs.weights.tolist() == pytest.approx([0.75, 0.25])
    drawn = [pairs[index]["image_a"] for index in range(12)]
    assert all(image.shape == (1, 96, 96) for image in drawn)


def test_mode_probabilities_choose_how_views_change_and_refuse_unknown_modes():
    from KeypointTraining.retina.data import MODE_PROBABILITIES, MODES, mode_weights

    assert mode_weights(None).tolist() == pytest.approx(list(MODE_PROBABILITIES))
    weights = mode_weights({"oct_enface": 3, "infrared": 1})
    assert weights.tolist() == pytest.approx([0.75 if m == "oct_enface" else 0.25 if m == "infrared" else 0
                                              for m in MODES])
    for bad in ({"oct": 1.0}, {"colour": -1.0}, {}, {"colour": 0.0}):
        with pytest.raises(ValueError, match="mode_probabilities"):
            mode_weights(bad)
