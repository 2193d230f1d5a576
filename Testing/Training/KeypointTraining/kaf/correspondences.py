"""Keypoint correspondences between neighbouring slices of a volume, the local self-supervision of KAF (paper 003,
section 3.2): a keypoint of slice A matches the keypoint of slice B, among those within a Manhattan distance, whose
SIFT descriptor is nearest; kept when the choice is mutual (an assignment is one-to-one); the rest are unmatched."""

from __future__ import annotations

import cv2
import numpy as np

from KeypointEngineLib.cardiac.keypoints import MAX_KEYPOINTS

MANHATTAN_PX = 10.0  # at 1.25 mm: 12.5 mm; the paper finds the threshold hardly matters (its Table 5)


def sift_with_descriptors(image: np.ndarray, max_count: int = MAX_KEYPOINTS) -> tuple[np.ndarray, np.ndarray]:
    """((N, 2) float32 (x, y), (N, 128) float32 SIFT descriptors) of a 2D image scaled to 0..1."""
    pixels = np.clip(np.nan_to_num(image) * 255.0, 0, 255).astype(np.uint8)
    found, descriptors = cv2.SIFT_create(nfeatures=max_count).detectAndCompute(pixels, None)
    if descriptors is None or not found:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32)
    points = np.array([keypoint.pt for keypoint in found], np.float32)
    _, first = np.unique(points.round(1), axis=0, return_index=True)
    first = np.sort(first)[:max_count]
    return points[first], descriptors[first].astype(np.float32)


def slice_correspondences(points_a, descriptors_a, points_b, descriptors_b, max_manhattan: float = MANHATTAN_PX):
    """(matches (M, 2) indices into A and B, unmatched of A, unmatched of B)."""
    if not len(points_a) or not len(points_b):
        return np.zeros((0, 2), np.int64), np.arange(len(points_a)), np.arange(len(points_b))
    near = np.abs(points_a[:, None] - points_b[None]).sum(-1) <= max_manhattan
    distance = np.linalg.norm(descriptors_a[:, None] - descriptors_b[None], axis=-1)
    distance = np.where(near, distance, np.inf)
    best_b, best_a = distance.argmin(1), distance.argmin(0)
    rows = np.arange(len(points_a))
    mutual = np.isfinite(distance[rows, best_b]) & (best_a[best_b] == rows)
    matches = np.stack([rows[mutual], best_b[mutual]], axis=1).astype(np.int64)
    return (matches, np.setdiff1d(rows, matches[:, 0]), np.setdiff1d(np.arange(len(points_b)), matches[:, 1]))
