"""Peaks of score maps: non-maximum suppression in 2D and 3D, keeping only real peaks.

A real peak is a local maximum over a (2 radius + 1)^d window, above a threshold and inside the mask: a map that is
zero off its peaks (or outside a field of view) has no "peaks" there, however many keypoints were asked for.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage


def find_peaks(score: np.ndarray, radius: int, threshold: float = 0.0, max_count: int | None = None,
               mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(points (N, d) as (x, y[, z]) = (i, j[, k]), scores (N,)) of the real peaks of `score` [rows, cols] or
    [k, j, i], strongest first (ties in index order), at most `max_count`."""
    score = np.asarray(score, dtype=np.float32)
    peak = (score == ndimage.maximum_filter(score, size=2 * radius + 1)) & (score > threshold)
    if mask is not None:
        peak &= np.asarray(mask, bool)
    index = np.flatnonzero(peak)
    values = score.ravel()[index]
    order = np.argsort(-values, kind="stable")[:max_count]
    points = np.stack(np.unravel_index(index[order], score.shape)[::-1], axis=1).astype(np.float32)
    return points.reshape(-1, score.ndim), values[order]


def window_max(maps: torch.Tensor, radius: int) -> torch.Tensor:
    """Maximum over (2 radius + 1)^2 windows of (B, C, H, W) maps, as max pooling with stride 1 computes it.

    On the CPU, OpenCV's dilation gives the same values about a hundred times faster than torch's max pooling.
    """
    size = 2 * radius + 1
    if maps.device.type != "cpu" or maps.requires_grad or maps.dtype != torch.float32:
        return F.max_pool2d(maps, size, stride=1, padding=radius)
    kernel = np.ones((size, size), np.uint8)
    planes = maps.reshape(-1, *maps.shape[-2:]).numpy()
    dilated = np.stack([cv2.dilate(np.ascontiguousarray(plane), kernel) for plane in planes])
    return torch.from_numpy(dilated).view_as(maps)


def heatmap_peaks(heatmap: torch.Tensor, count: int, radius: int = 4, mask: torch.Tensor | None = None) -> torch.Tensor:
    """(B, count, 2) (x, y) positions of the `count` strongest local maxima of (B, 1, H, W) heatmaps, restricted to
    `mask`: a fixed count per image, as a batched network needs (padding positions included where there are fewer
    real peaks). The trained retinal network picks its attention points so; extracted keypoints use find_peaks."""
    peaks = heatmap * (heatmap == window_max(heatmap, radius))
    if mask is not None:
        peaks = peaks * mask
    width = heatmap.shape[-1]
    index = peaks.flatten(1).topk(count, dim=1).indices
    return torch.stack([index % width, index // width], dim=-1).float()
