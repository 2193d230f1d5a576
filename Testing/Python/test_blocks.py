"""Shared network blocks: keypoint attention over padded batches, sampling and writing back in 2D and 3D, and peaks
that are real."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from KeypointEngineLib.blocks.keypoint_attention import KeypointAttention
from KeypointEngineLib.blocks.peaks import find_peaks
from KeypointEngineLib.blocks.sampling import sample_at, scatter_to_cells


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_padded_batches_give_each_image_what_it_gets_alone(spatial_dims):
    """Images with unequal keypoint counts share a batch through padding; padded slots change nothing."""
    torch.manual_seed(0)
    block = KeypointAttention(16, heads=4, stride=4, depth=2, projector_layers=1, spatial_dims=spatial_dims).eval()
    shape = (8,) * spatial_dims
    features = torch.randn(2, 16, *shape)
    counts = (5, 9)
    points = [torch.rand(count, spatial_dims) * 31 for count in counts]
    padded = torch.zeros(2, max(counts), spatial_dims)
    padding = torch.ones(2, max(counts), dtype=torch.bool)
    for index, (count, image_points) in enumerate(zip(counts, points, strict=True)):
        padded[index, :count], padding[index, :count] = image_points, False
    padded[0, counts[0]:] = 3.0  # padded slots sit on a real cell: they must still write nothing there
    with torch.no_grad():
        batch_map, batch_tokens = block(features, padded, padding)
        for index, (count, image_points) in enumerate(zip(counts, points, strict=True)):
            alone_map, alone_tokens = block(features[index:index + 1], image_points[None])
            assert torch.allclose(batch_tokens[index, :count], alone_tokens[0], atol=1e-5)
            assert torch.allclose(batch_map[index], alone_map[0], atol=1e-5)


def test_an_image_without_keypoints_in_a_padded_batch_gets_nothing_written_back():
    torch.manual_seed(1)
    block = KeypointAttention(8, heads=2, stride=2).eval()
    points = torch.rand(2, 4, 2) * 15
    padding = torch.tensor([[False, False, True, True], [True, True, True, True]])
    with torch.no_grad():
        written, tokens = block(torch.randn(2, 8, 8, 8), points, padding)
    assert torch.isfinite(written).all() and torch.isfinite(tokens).all()
    assert (written[1] == 0).all() and (tokens[1] == 0).all() and (tokens[0, 2:] == 0).all()


def test_projector_layers_and_position_input_are_configurable():
    block = KeypointAttention(8, heads=2, stride=2, projector_layers=3, position=False)
    linear = [layer for layer in block.embed if isinstance(layer, torch.nn.Linear)]
    assert len(linear) == 3 and linear[0].in_features == 8
    assert KeypointAttention(8, heads=2, stride=2, spatial_dims=3).embed[0].in_features == 8 + 3


def test_sampling_reads_a_3d_map_at_voxel_centres_and_writing_back_inverts_it():
    volume = torch.arange(4 * 5 * 6, dtype=torch.float32).reshape(1, 1, 4, 5, 6)  # [k, j, i]
    points = torch.tensor([[[0.0, 0.0, 0.0], [5.0, 4.0, 3.0], [2.0, 1.0, 3.0]]])  # (x, y, z) = (i, j, k)
    sampled = sample_at(volume, points, stride=1)[0, :, 0]
    assert sampled.tolist() == pytest.approx([0.0, 119.0, 98.0], abs=1e-5)  # [k, j, i] = [3, 4, 5], [3, 1, 2]
    written = scatter_to_cells(torch.tensor([[[1.0], [2.0], [3.0]]]), points, volume.shape[2:], stride=1)
    assert (written[0, 0, 0, 0, 0], written[0, 0, 3, 4, 5], written[0, 0, 3, 1, 2]) == (1.0, 2.0, 3.0)
    assert (written != 0).sum() == 3


@pytest.mark.parametrize("shape", [(40, 50), (20, 24, 28)])
def test_only_real_peaks_are_found_strongest_first(shape):
    rng = np.random.default_rng(0)
    score = np.zeros(shape, np.float32)
    centres = [tuple(int(rng.integers(3, size - 3)) for size in shape) for _ in range(3)]
    for value, centre in zip((0.9, 0.5, 0.7), centres, strict=True):
        score[centre] = value
    points, values = find_peaks(score, radius=2, max_count=100)
    assert values.tolist() == pytest.approx([0.9, 0.7, 0.5])  # a map zero off its peaks has only these
    assert [tuple(point[::-1].astype(int)) for point in points] == [centres[0], centres[2], centres[1]]
    mask = np.zeros(shape, bool)
    mask[centres[1]] = True
    assert len(find_peaks(score, radius=2, mask=mask)[0]) == 1
    assert len(find_peaks(score, radius=2, threshold=0.6)[0]) == 2 and len(find_peaks(score, 2, max_count=1)[0]) == 1


def test_learned_keypoints_stay_inside_a_small_field_of_view():
    """At a 30° field of view and a small working size the aperture holds fewer real peaks than asked for: none may
    be made up outside it (the network's map is zero there)."""
    from skimage import data

    from KeypointEngineLib.retina.backends import RETINA_BACKENDS
    from KeypointEngineLib.retina.preprocess import prepare

    prepared = prepare(data.retina(), working_size=256, fov_degrees=30)
    features = RETINA_BACKENDS.get("learned", "cpu").extract(prepared.image, prepared.mask)
    index = np.round(features.keypoints).astype(int)
    assert 0 < len(features) < 3000 and prepared.mask[index[:, 1], index[:, 0]].all()
