"""Pseudo-labels for real volumes (SP3D's second stage): the stage-1 detector run on many random warps of a volume,
each heatmap taken back to the volume's own grid, averaged; its peaks are the keypoints that survive motion."""

from __future__ import annotations

import numpy as np
import torch

from KeypointEngineLib.blocks.peaks import find_peaks
from KeypointEngineLib.tiling import tiled_inference
from KeypointEngineLib.volume.network import SP3DNet
from KeypointTraining.sp3d.pairs import random_motion, warp_volume


def network_detector(model: SP3DNet, window: int = 96):
    """volume [D, H, W] -> the network's heatmap, in tiles."""
    model.eval()

    @torch.no_grad()
    def detect(view: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(np.ascontiguousarray(view, dtype=np.float32))[None, None]
        heatmap = tiled_inference(lambda x: model(x)["heatmap"], tensor, tuple(min(window, n) for n in view.shape))
        return heatmap[0, 0].numpy()

    return detect


def classical_detector(name: str = "Hessian-3D"):
    """volume [D, H, W] -> a classical detector's response (KeypointEngineLib.volume.classical), scaled to 0..1."""
    from KeypointEngineLib.volume.classical import DETECTORS

    def detect(view: np.ndarray) -> np.ndarray:
        response = DETECTORS[name](np.ascontiguousarray(view, dtype=np.float32))
        return (response / max(float(response.max()), 1e-12)).astype(np.float32)

    return detect


def aggregated_heatmap(detector, volume: np.ndarray, rng: np.random.Generator, warps: int = 12,
                       max_rotation_degrees: float = 90.0) -> np.ndarray:
    """[D, H, W] mean of `detector`'s heatmaps (network_detector or classical_detector) over the identity and
    `warps` random affine views, each mapped back onto `volume`'s grid (zero where a view did not see a voxel, so the
    mean is over the views that did)."""
    shape = volume.shape
    total, seen = np.zeros(shape, np.float64), np.zeros(shape, np.float64)
    for index in range(warps + 1):
        a_to_b = np.eye(4) if index == 0 else random_motion(rng, shape, max_rotation_degrees, shift_voxels=2.0)
        view = warp_volume(volume, a_to_b) if index else volume
        heatmap = detector(view)
        back = np.linalg.inv(a_to_b)
        total += warp_volume(heatmap, back) if index else heatmap
        seen += warp_volume(np.ones(shape, np.float32), back) if index else 1.0
    return (total / np.maximum(seen, 1e-6)).astype(np.float32)


def pseudo_keypoints(heatmap: np.ndarray, mask: np.ndarray, count: int, radius: int = 2) -> np.ndarray:
    """(N, 3) (x, y, z) voxels: the `count` strongest peaks of the aggregated heatmap inside `mask`."""
    points, _ = find_peaks(heatmap, radius=radius, max_count=count, mask=mask)
    return points
