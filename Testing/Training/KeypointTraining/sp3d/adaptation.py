"""Pseudo-labels for real volumes (SP3D's second stage): the stage-1 detector run on many random warps of a volume,
each heatmap taken back to the volume's own grid, averaged; its peaks are the keypoints that survive motion."""

from __future__ import annotations

import numpy as np
import torch

from KeypointEngineLib.blocks.peaks import find_peaks
from KeypointEngineLib.tiling import tiled_inference
from KeypointEngineLib.volume.network import SP3DNet
from KeypointTraining.sp3d.pairs import random_motion, warp_volume


@torch.no_grad()
def aggregated_heatmap(model: SP3DNet, volume: np.ndarray, rng: np.random.Generator, warps: int = 12,
                       max_rotation_degrees: float = 90.0, window: int = 96) -> np.ndarray:
    """[D, H, W] mean of the detector's heatmaps over the identity and `warps` random affine views, each mapped back
    onto `volume`'s grid (zero where a view did not see a voxel, so the mean is over the views that did)."""
    model.eval()
    shape = volume.shape
    total, seen = np.zeros(shape, np.float64), np.zeros(shape, np.float64)
    for index in range(warps + 1):
        a_to_b = np.eye(4) if index == 0 else random_motion(rng, shape, max_rotation_degrees, shift_voxels=2.0)
        view = warp_volume(volume, a_to_b) if index else volume
        tensor = torch.from_numpy(np.ascontiguousarray(view, dtype=np.float32))[None, None]
        heatmap = tiled_inference(lambda x: model(x)["heatmap"], tensor, tuple(min(window, n) for n in shape))
        back = np.linalg.inv(a_to_b)
        total += warp_volume(heatmap[0, 0].numpy(), back) if index else heatmap[0, 0].numpy()
        seen += warp_volume(np.ones(shape, np.float32), back) if index else 1.0
    return (total / np.maximum(seen, 1e-6)).astype(np.float32)


def pseudo_keypoints(heatmap: np.ndarray, mask: np.ndarray, count: int, radius: int = 2) -> np.ndarray:
    """(N, 3) (x, y, z) voxels: the `count` strongest peaks of the aggregated heatmap inside `mask`."""
    points, _ = find_peaks(heatmap, radius=radius, max_count=count, mask=mask)
    return points
