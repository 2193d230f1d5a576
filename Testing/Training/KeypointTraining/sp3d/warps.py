"""Dense 3D warps for SP3D's training pairs on real volumes: the motions real scan pairs show (repositioning with
large rotations, shifts, a smooth elastic deformation, another field of view), as a map from each view-B voxel to
where it lies in view A. Sampling view A, its label heatmap, or A's coordinates of B's cell centres through the same
map keeps images, labels and correspondences consistent without inverting anything."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from KeypointTraining.sp3d.pairs import random_motion


def random_warp(rng: np.random.Generator, shape: tuple[int, int, int], max_rotation_degrees: float = 90.0,
                elastic_voxels: float = 2.0, elastic_smoothness: float = 8.0) -> np.ndarray:
    """[D, H, W, 3] (x, y, z) positions in view A of every view-B voxel: an affine motion (rotation about a random
    axis up to the maximum, scale 0.9-1.1, shifts) and a smooth displacement of about `elastic_voxels`."""
    a_to_b = random_motion(rng, shape, max_rotation_degrees, shift_voxels=0.1 * min(shape))
    b_to_a = np.linalg.inv(a_to_b)
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    positions = np.stack([x, y, z], axis=-1) @ b_to_a[:3, :3].T + b_to_a[:3, 3]
    if elastic_voxels > 0:
        for axis in range(3):
            field = ndimage.gaussian_filter(rng.normal(0, 1, shape), elastic_smoothness)
            positions[..., axis] += field / max(float(np.abs(field).max()), 1e-9) * elastic_voxels
    return positions.astype(np.float32)


def sample(volume: torch.Tensor, positions: np.ndarray, fill: float = 0.0) -> torch.Tensor:
    """(C, D', H', W') `volume` (C, D, H, W) sampled trilinearly at `positions` [D', H', W', 3] (x, y, z voxels)."""
    size = torch.tensor(volume.shape[1:][::-1], dtype=torch.float32)
    grid = 2 * (torch.from_numpy(positions) + 0.5) / size - 1
    sampled = F.grid_sample((volume - fill)[None], grid[None], mode="bilinear", padding_mode="zeros",
                            align_corners=False)
    return sampled[0] + fill


def cut_field_of_view(rng: np.random.Generator, shape: tuple[int, int, int], share: float) -> np.ndarray:
    """[D, H, W] bool: view B's voxels kept after cutting away `share` of one axis at one end (partial coverage)."""
    keep = np.ones(shape, bool)
    axis = int(rng.integers(3))
    cut = int(round(share * shape[axis]))
    if cut:
        index = [slice(None)] * 3
        index[axis] = slice(0, cut) if rng.random() < 0.5 else slice(shape[axis] - cut, None)
        keep[tuple(index)] = False
    return keep
