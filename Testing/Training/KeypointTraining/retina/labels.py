"""Keypoint labels: vessel bifurcations and crossings from manual vessel masks (round 0), and the model's own
non-maximum-suppressed detections in later rounds (Retinal IPA's iterative training), as Gaussian heatmaps."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize


def vessel_junctions(vessel_mask: np.ndarray, min_separation: float = 4.0) -> np.ndarray:
    """(N, 2) (x, y) px of bifurcations and crossings: skeleton pixels with three or more skeleton neighbours,
    merged when closer than `min_separation`."""
    skeleton = skeletonize(vessel_mask > 0)
    neighbours = ndimage.convolve(skeleton.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    junctions = skeleton & (neighbours >= 3)
    merged = cv2.dilate(junctions.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (int(2 * min_separation) | 1,) * 2))
    count, _, _, centroids = cv2.connectedComponentsWithStats(merged)
    return centroids[1:count].astype(np.float32)


def gaussian_heatmap(points: np.ndarray, shape: tuple[int, int], sigma: float = 1.5) -> np.ndarray:
    """A float32 map in [0, 1] with a Gaussian peak of height 1 at each (x, y) point."""
    heatmap = np.zeros(shape, np.float32)
    rows, cols = shape
    for x, y in np.round(points).astype(int):
        if 0 <= x < cols and 0 <= y < rows:
            heatmap[y, x] = 1.0
    # scale so that an isolated peak has height 1 (a Gaussian's peak is 1 / (2 pi sigma^2)); overlapping ones clip
    return np.minimum(cv2.GaussianBlur(heatmap, (0, 0), sigma) * 2 * np.pi * sigma ** 2, 1.0)
