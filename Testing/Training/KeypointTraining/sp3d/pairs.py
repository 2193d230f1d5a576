"""Training pairs for SP3D: two views of one volume related by a known affine motion of the voxel grid, with the
keypoints of both views and where view B's cells lie in view A (for the descriptor loss)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial.transform import Rotation

from KeypointTraining.sp3d.labels import cell_centres, cell_classes


def random_motion(rng: np.random.Generator, shape: tuple[int, int, int], max_rotation_degrees: float,
                  scale: tuple[float, float] = (0.9, 1.1), shift_voxels: float = 4.0) -> np.ndarray:
    """4x4 matrix mapping view-A voxels (x, y, z) to view-B voxels: a rotation about a random axis (uniform on the
    sphere, angle uniform up to the maximum) and an isotropic scale about the centre, then a shift."""
    axis = Rotation.random(random_state=rng).apply([0, 0, 1.0])
    rotation = Rotation.from_rotvec(axis * np.deg2rad(rng.uniform(0, max_rotation_degrees))).as_matrix()
    centre = (np.array(shape[::-1]) - 1) / 2
    linear = rotation * rng.uniform(*scale)
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    matrix[:3, 3] = centre - linear @ centre + rng.uniform(-shift_voxels, shift_voxels, 3)
    return matrix


def warp_volume(volume: np.ndarray, a_to_b: np.ndarray) -> np.ndarray:
    """View B [z, y, x]: for each B voxel, view A sampled (trilinearly) where it comes from; zero outside."""
    shape = volume.shape
    b_to_a = np.linalg.inv(a_to_b)
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    points = np.stack([x, y, z], axis=-1).reshape(-1, 3) @ b_to_a[:3, :3].T + b_to_a[:3, 3]
    size = np.array(shape[::-1], dtype=np.float64)
    grid = (2 * (points + 0.5) / size - 1).reshape(1, *shape, 3)  # align_corners=False convention
    sampled = F.grid_sample(torch.from_numpy(volume)[None, None].float(), torch.from_numpy(grid).float(),
                            mode="bilinear", padding_mode="zeros", align_corners=False)
    return sampled[0, 0].numpy()


def map_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) @ matrix[:3, :3].T + matrix[:3, 3]


def make_pair(volume: np.ndarray, points_a: np.ndarray, a_to_b: np.ndarray, rng: np.random.Generator,
              generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The tensors one training step needs for views A (the volume) and B (its warp, with another contrast)."""
    shape = volume.shape
    view_b = warp_volume(volume, a_to_b)
    gamma = rng.uniform(0.7, 1.4)
    view_b = np.clip(view_b, 0, None) ** gamma + rng.normal(0, rng.uniform(0.0, 0.04), shape)
    points_b = map_points(a_to_b, points_a)
    centres = cell_centres(shape).numpy()
    centres_b_in_a = map_points(np.linalg.inv(a_to_b), centres)
    valid_b = np.all((centres_b_in_a >= 0) & (centres_b_in_a <= np.array(shape[::-1]) - 1), axis=1)
    return {
        "volume_a": torch.from_numpy(volume).float()[None],
        "volume_b": torch.from_numpy(view_b.astype(np.float32))[None],
        "classes_a": cell_classes(torch.from_numpy(points_a).float(), shape, generator),
        "classes_b": cell_classes(torch.from_numpy(points_b).float(), shape, generator),
        "centres_b_in_a": torch.from_numpy(centres_b_in_a).float(),
        "valid_b": torch.from_numpy(valid_b).float(),
        "a_to_b": torch.from_numpy(a_to_b).float(),
    }
