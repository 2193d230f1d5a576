"""The KAF layer's keypoints: SIFT (OpenCV) on each slice, padded into a batch with a mask, never truncated."""

from __future__ import annotations

import cv2
import numpy as np
import torch

MAX_KEYPOINTS = 128  # per training crop: SIFT's strongest; inference keeps that density over a whole slice
TRAINING_CROP = 128  # px at 1.25 mm: the crops KAF-UNet trains on (16 cm, the heart and its surroundings)


def sift_keypoints(image: np.ndarray, max_count: int = MAX_KEYPOINTS) -> np.ndarray:
    """(N, 2) float32 (x, y) px of the SIFT keypoints of a 2D image scaled to 0..1, strongest first; one point per
    position (SIFT repeats a point for each of its orientations)."""
    pixels = np.clip(np.nan_to_num(image) * 255.0, 0, 255).astype(np.uint8)
    found = cv2.SIFT_create(nfeatures=max_count).detect(pixels, None)
    found = sorted(found, key=lambda keypoint: -keypoint.response)
    points = np.array([keypoint.pt for keypoint in found], np.float32).reshape(-1, 2)
    _, first = np.unique(points.round(1), axis=0, return_index=True)
    return points[np.sort(first)][:max_count]


def padded_batch(point_sets: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """(points (B, N, 2), padding (B, N) True at padded slots) with N the largest count in the batch (at least 1)."""
    count = max([len(points) for points in point_sets] + [1])
    points = torch.zeros(len(point_sets), count, 2)
    padding = torch.ones(len(point_sets), count, dtype=torch.bool)
    for item, found in enumerate(point_sets):
        points[item, :len(found)] = torch.from_numpy(np.asarray(found, np.float32))
        padding[item, :len(found)] = False
    return points, padding
