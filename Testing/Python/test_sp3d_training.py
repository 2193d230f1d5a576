"""SP3D's first training stage: synthetic shapes with known corners, cell labels, view pairs under known motions,
the network's outputs, and a short real training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.networks.utils import pixelshuffle
from scipy import ndimage

from KeypointEngineLib.volume.network import CELL, SP3DNet
from KeypointTraining.config import TrainConfig
from KeypointTraining.runner import Runner
from KeypointTraining.sp3d.labels import cell_centres, cell_classes
from KeypointTraining.sp3d.pairs import make_pair, map_points, random_motion, warp_volume
from KeypointTraining.sp3d.shapes import make_shapes_volume


def test_shape_corners_lie_on_the_shapes_edges_and_volumes_repeat_for_a_seed():
    volume, corners = make_shapes_volume(np.random.default_rng(0))
    again, same = make_shapes_volume(np.random.default_rng(0))
    assert np.array_equal(volume, again) and np.array_equal(corners, same)
    assert volume.shape == (64, 64, 64) and 0.0 <= volume.min() and volume.max() <= 1.0 and len(corners) >= 10
    gradient = ndimage.gaussian_gradient_magnitude(volume, 1.0)
    index = np.round(corners).astype(int)
    at_corners = gradient[index[:, 2], index[:, 1], index[:, 0]]
    assert np.median(at_corners) > 5 * np.median(gradient)  # corners sit where intensity changes, not in flat parts


def test_cell_classes_put_each_keypoint_where_the_heatmap_shows_it():
    points = torch.tensor([[3.0, 5.0, 2.0], [17.0, 9.0, 30.0]])  # (x, y, z)
    classes = cell_classes(points, (32, 32, 32))
    assert classes.shape == (4, 4, 4) and (classes < CELL ** 3).sum() == 2
    one_hot = torch.nn.functional.one_hot(classes, CELL ** 3 + 1).permute(3, 0, 1, 2).float()[None, :-1]
    heatmap = pixelshuffle(one_hot, spatial_dims=3, scale_factor=CELL)[0, 0]  # as the network decodes cells
    assert {tuple(int(v) for v in index.flip(0)) for index in torch.nonzero(heatmap)} == {(3, 5, 2), (17, 9, 30)}
    assert cell_centres((32, 32, 32))[0].tolist() == [3.5, 3.5, 3.5]


def test_the_second_view_shows_the_first_moved_by_the_known_motion():
    rng = np.random.default_rng(1)
    volume, corners = make_shapes_volume(rng, (48, 48, 48))
    motion = random_motion(rng, volume.shape, 90.0)
    view_b = warp_volume(volume, motion)
    inside = np.all((map_points(motion, corners) > 2) & (map_points(motion, corners) < 45), axis=1)
    mapped = np.round(map_points(motion, corners[inside])).astype(int)
    original = np.round(corners[inside]).astype(int)
    near = np.abs(view_b[mapped[:, 2], mapped[:, 1], mapped[:, 0]] - volume[original[:, 2], original[:, 1],
                                                                             original[:, 0]])
    assert np.median(near) < 0.15  # the same structure is where the motion says
    pair = make_pair(volume, corners, motion, rng, torch.Generator().manual_seed(0))
    assert pair["volume_b"].shape == (1, 48, 48, 48) and pair["valid_b"].sum() > 0


def test_network_outputs_a_heatmap_per_voxel_and_unit_descriptors_per_cell():
    model = SP3DNet().eval()
    with torch.no_grad():
        out = model(torch.rand(1, 1, 32, 40, 48))
    assert out["heatmap"].shape == (1, 1, 32, 40, 48) and out["logits"].shape == (1, 513, 4, 5, 6)
    cell_sums = torch.nn.functional.avg_pool3d(out["heatmap"], CELL) * CELL ** 3
    assert (cell_sums < 1).all() and (out["heatmap"] >= 0).all()  # the dustbin takes the rest of each cell
    assert torch.allclose(out["descriptors"].norm(dim=1), torch.ones(1, 4, 5, 6), atol=1e-5)


def test_the_shapes_recipe_trains_evaluates_and_exports(tmp_path):
    config = TrainConfig.from_dict(dict(recipe="sp3d-shapes", output_dir=str(tmp_path / "run"), batch_size=1,
                                        max_steps=3, checkpoint_every_steps=2, log_every_steps=1,
                                        recipe_options={"size": 32, "shapes": 3, "validation_pairs": 1}))
    runner = Runner(config)
    result = runner.train()
    assert result.steps == 3 and np.isfinite(result.last_loss)
    assert 0.0 <= result.metrics["repeatability_2vox"] <= 1.0
    card = runner.export("sp3d-test", result.metrics, tmp_path / "export")
    assert card.weights_path.is_file() and tuple(card.extra["network"]["widths"]) == (16, 32, 64, 96)


def test_a_dense_warp_carries_images_and_correspondences_together():
    from KeypointTraining.sp3d.warps import random_warp, sample

    rng = np.random.default_rng(2)
    shape = (32, 32, 32)
    positions = random_warp(rng, shape, max_rotation_degrees=60, elastic_voxels=1.5)
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij")
    coordinates = torch.from_numpy(np.stack([x, y, z]))  # view A's own (x, y, z) as three channels
    carried = sample(coordinates, positions).numpy()
    inside = np.all((positions > 1) & (positions < 30), axis=-1)
    # sampling A's coordinates through the warp gives the warp itself: images and positions stay consistent
    assert np.abs(np.moveaxis(carried, 0, -1)[inside] - positions[inside]).max() < 1e-3


def test_real_volume_pairs_repeat_for_a_seed_and_keep_correspondences(tmp_path):
    import SimpleITK as sitk

    from KeypointTraining.sp3d.volumes import LabelledVolume, VolumePairs, load_working

    volume = np.zeros((40, 48, 56), np.float32)
    volume[8:32, 10:40, 12:46] = 1.0 + np.random.default_rng(0).random((24, 30, 34)).astype(np.float32)
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((2.0, 2.0, 2.0))
    sitk.WriteImage(image, str(tmp_path / "box.nii.gz"))
    working = load_working(tmp_path / "box.nii.gz")
    heatmap = ndimage.gaussian_filter(np.random.default_rng(1).random(working.array.shape), 1.5).astype(np.float32)
    pairs = VolumePairs([LabelledVolume("box", working, heatmap)], 2, seed=0, size=32, max_rotation=45)
    first, again = pairs[0], pairs[0]
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert first["volume_a"].shape == (1, 32, 32, 32) and first["centres_b_in_a"].shape == (64, 3)
    assert (first["classes_a"] < 512).sum() > 0 and 0 < first["valid_b"].sum() <= 64


@pytest.mark.parametrize("labels", [{}, {"label_detector": "Hessian-3D"}])
def test_stage_two_trains_on_real_volumes_with_pseudo_labels(tmp_path, labels):
    import SimpleITK as sitk

    folder = tmp_path / "data" / "volumes"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for name in ("a.nii.gz", "held.nii.gz"):
        volume = ndimage.gaussian_filter(rng.random((24, 32, 32)), 1.0).astype(np.float32)
        image = sitk.GetImageFromArray(volume)
        image.SetSpacing((2.0, 2.0, 3.0))
        sitk.WriteImage(image, str(folder / name))
    config = TrainConfig.from_dict(dict(
        recipe="sp3d-volumes", output_dir=str(tmp_path / "run"), batch_size=1, max_steps=2, log_every_steps=1,
        checkpoint_every_steps=2, recipe_options={"data": str(tmp_path / "data"), "held_out": ["held.nii.gz"],
                                                  "warps": 1, "size": 32, **labels}))
    runner = Runner(config)
    result = runner.train()
    assert result.steps == 2 and np.isfinite(result.last_loss)
    card = runner.export("sp3d-test", result.metrics, tmp_path / "export")
    assert "held out: held.nii.gz" in card.training_data and "a.nii.gz" in card.training_data
    assert (labels.get("label_detector") or "the stage-1 network") in card.training_data


def test_soft_cell_targets_spread_a_keypoint_about_its_voxel_and_leave_empty_cells_to_the_dustbin():
    from KeypointTraining.sp3d.losses import detection_loss, soft_cell_targets

    classes = cell_classes(torch.tensor([[3.0, 5.0, 7.0]]), (16, 16, 16))[None]
    targets = soft_cell_targets(classes, sigma=1.0)
    torch.testing.assert_close(targets.sum(1), torch.ones(1, 2, 2, 2))
    assert targets[0, :, 0, 0, 0].argmax() == classes[0, 0, 0, 0] < CELL ** 3  # peaked at the keypoint's voxel
    assert (targets[0, CELL ** 3].flatten()[1:] == 1).all()  # the other cells: all dustbin
    logits = torch.zeros(1, CELL ** 3 + 1, 2, 2, 2)
    near, far = logits.clone(), logits.clone()
    near[0, classes[0, 0, 0, 0] + 1, 0, 0, 0] = 5.0  # one voxel off the keypoint
    far[0, 0, 0, 0, 0] = 5.0  # a corner of the cell, far from it
    assert detection_loss(near, classes, 1.0) < detection_loss(far, classes, 1.0)
    assert detection_loss(near, classes, 0.0) == pytest.approx(float(detection_loss(far, classes, 0.0)))
