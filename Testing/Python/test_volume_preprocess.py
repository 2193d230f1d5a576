"""CT and MRI volumes onto SP3D's working grid: positions kept exactly in RAS on oblique, anisotropic volumes; body
masks that leave out air and reconstruction padding; bad volumes refused."""

from __future__ import annotations

import numpy as np
import pytest

from KeypointEngineLib.blocks.peaks import find_peaks
from KeypointEngineLib.geometry import ijk_from_ras, ras_from_ijk
from KeypointEngineLib.volume.preprocess import to_working_grid


def _blob_volume(shape, centre_ijk, sigma_voxels):
    k, j, i = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    squared = sum(((axis - c) / s) ** 2 for axis, c, s in zip((i, j, k), centre_ijk, sigma_voxels, strict=True))
    return (100 + 900 * np.exp(-squared / 2)).astype(np.int16)


def test_a_structure_keeps_its_ras_position_on_the_working_grid(oblique_ijk_to_ras):
    """Spacing 0.7 x 1.3 x 3.1 mm on a skew rotation: a blob at a known voxel lands at the same RAS point."""
    shape, centre = (30, 60, 80), np.array([41.3, 27.6, 14.2])  # [k, j, i] array, (i, j, k) centre
    spacing = np.array([0.7, 1.3, 3.1])
    volume = _blob_volume(shape, centre, 6.0 / spacing)  # 6 mm blob
    working = to_working_grid(volume, oblique_ijk_to_ras, spacing_mm=2.0, border_mm=0)
    assert working.array.shape == tuple(int(np.ceil(n / 8) * 8) for n in working.array.shape)
    np.testing.assert_allclose(working.spacing, [2.0, 2.0, 2.0])
    expected = ras_from_ijk(centre, oblique_ijk_to_ras)
    peak, _ = find_peaks(working.array, radius=3, max_count=1)
    assert np.linalg.norm(ras_from_ijk(peak, working.ijk_to_ras) - expected) < 2 * np.sqrt(3)  # the nearest voxel
    weights = np.clip(working.array - 0.5, 0, None)  # the blob's upper half: its centre of mass, to a fraction
    k, j, i = np.nonzero(weights)
    centroid = np.average(np.c_[i, j, k], axis=0, weights=weights[k, j, i])
    assert np.linalg.norm(ras_from_ijk(centroid, working.ijk_to_ras) - expected) < 0.3
    np.testing.assert_allclose(ijk_from_ras(ras_from_ijk([[0, 0, 0]], working.ijk_to_ras), oblique_ijk_to_ras), 0,
                               atol=1e-9)  # same origin


def test_ct_padding_and_air_are_outside_the_body_mask():
    shape = (24, 64, 64)
    k, j, i = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    volume = np.full(shape, -3024, np.int16)  # outside the reconstruction circle
    volume[(i - 32) ** 2 + (j - 32) ** 2 < 30 ** 2] = -1000  # air inside it
    body = (i - 32) ** 2 + (j - 30) ** 2 < 16 ** 2
    volume[body] = 40 + (5 * np.sin(i[body] / 3.0)).astype(np.int16)
    working = to_working_grid(volume, np.diag([1.0, 1.0, 2.0, 1.0]), spacing_mm=2.0, border_mm=0)
    centre = (6, 15, 16)  # [k, j, i] of the body's centre on the 2-mm grid
    corner = (6, 2, 2)  # padding
    air = (6, 15, 29)
    assert working.mask[centre] and not working.mask[corner] and not working.mask[air]
    eroded = to_working_grid(volume, np.diag([1.0, 1.0, 2.0, 1.0]), spacing_mm=2.0, border_mm=6.0)
    assert eroded.mask.sum() < working.mask.sum() and eroded.mask[centre]


@pytest.mark.parametrize("array, message", [
    (np.zeros((10, 10)), "3D scalar volume"),
    (np.zeros((4, 10, 10, 3)), "3D scalar volume"),
    (np.zeros((1, 10, 10)), "only 1 slice"),
    (np.full((8, 8, 8), 7.0), "constant"),
    (np.where(np.eye(8)[None].repeat(8, 0) > 0, np.nan, 1.0), "not numbers"),
    (np.zeros((8, 8, 8), np.complex64), "voxel type"),
])
def test_volumes_that_cannot_be_used_are_refused(array, message):
    with pytest.raises(ValueError, match=message):
        to_working_grid(array, np.eye(4))


def test_a_users_mask_replaces_the_body_mask_and_must_fit_the_volume():
    volume = _blob_volume((20, 20, 20), np.array([10.0, 10.0, 10.0]), (3.0, 3.0, 3.0))
    mask = np.zeros(volume.shape, bool)
    mask[:, :, :5] = True
    working = to_working_grid(volume, np.eye(4), spacing_mm=2.0, mask=mask, border_mm=0)
    assert working.mask[:, :, :2].any() and not working.mask[:, :, 4:].any()
    with pytest.raises(ValueError, match="differs from the volume"):
        to_working_grid(volume, np.eye(4), mask=mask[:10])
    with pytest.raises(ValueError, match="mask is empty"):
        to_working_grid(volume, np.eye(4), mask=np.zeros(volume.shape, bool))


def test_extraction_is_deterministic_bounded_by_the_mask_and_placed_in_ras(oblique_ijk_to_ras):
    """With a network of fixed random weights (geometry, not learning, is tested here): keypoints lie inside the
    body, at most the number asked for, no two closer than the NMS radius, the same on a second run."""
    import torch

    from KeypointEngineLib.geometry import ijk_from_ras
    from KeypointEngineLib.volume.extract import SP3DExtractor
    from KeypointEngineLib.volume.network import SP3DNet
    from KeypointEngineLib.volume.parameters import DetectionOptions

    torch.manual_seed(0)
    extractor = SP3DExtractor(device="cpu", network=SP3DNet())
    volume = _blob_volume((30, 60, 80), np.array([41.3, 27.6, 14.2]), (20.0, 10.0, 4.0))
    options = DetectionOptions(max_keypoints=40, threshold=0.0, nms_mm=6.0)
    first = extractor.extract(volume, oblique_ijk_to_ras, options)
    second = extractor.extract(volume, oblique_ijk_to_ras, options)
    assert 0 < len(first) <= 40 and np.array_equal(first.keypoints, second.keypoints)
    assert np.allclose(np.linalg.norm(first.descriptors, axis=1), 1, atol=1e-5)
    ijk = ijk_from_ras(first.keypoints, oblique_ijk_to_ras)
    assert np.all((ijk > -1) & (ijk < np.array([80, 60, 30])))  # inside the scanned volume
    gaps = np.abs(first.keypoints[:, None] - first.keypoints[None]).max(axis=2) + np.eye(len(first)) * 1e9
    assert gaps.min() >= 6.0 - 1e-6  # NMS in mm on the 2-mm grid: per axis at least 3 voxels apart
