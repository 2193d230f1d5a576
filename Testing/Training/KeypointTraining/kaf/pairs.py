"""Pretraining samples: two neighbouring slices of an unlabelled volume under one shared geometric augmentation
(rotation, scale, shift; a cv2 affine applied to both images and to their keypoints, so correspondences survive),
each with its own intensity changes, their SIFT keypoints and correspondences, and their normalised positions."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from monai.transforms import Compose, RandAdjustContrast, RandBiasField, RandGaussianNoise

from KeypointEngineLib.cardiac.keypoints import padded_batch
from KeypointTraining.kaf.correspondences import sift_with_descriptors, slice_correspondences
from KeypointTraining.kaf.data import CROP, WorkingFrame


def shared_affine(rng: np.random.Generator, shape: tuple[int, int], size: int = CROP) -> np.ndarray:
    """2x3 matrix from a working slice to a size² crop about its centre (+- 1/5 of the crop), rotated by any angle
    and scaled by +-15 %."""
    centre = np.array(shape[::-1], float) / 2 + rng.uniform(-size / 5, size / 5, 2)
    matrix = cv2.getRotationMatrix2D(tuple(centre), float(rng.uniform(-180, 180)), float(rng.uniform(0.85, 1.15)))
    matrix[:, 2] += size / 2 - centre
    return matrix


def _keep_inside(points, descriptors, size):
    inside = np.all((points >= 0) & (points <= size - 1), axis=1)
    return points[inside], descriptors[inside]


class NeighbourPairs(torch.utils.data.Dataset):
    """`length` pairs of neighbouring slices from `frames` (labels unused); item i is the same for the same seed."""

    def __init__(self, frames: list[WorkingFrame], length: int, seed: int, keypoints: int = 128):
        self.slices = [(frame, index) for frame in frames for index in range(len(frame.images) - 1)]
        if not self.slices:
            raise ValueError("No volume with two slices or more to pretrain on.")
        self.length, self.seed, self.keypoints = length, seed, keypoints
        self.intensity = Compose([RandBiasField(prob=0.5, coeff_range=(0.0, 0.3)),
                                  RandAdjustContrast(prob=0.5, gamma=(0.7, 1.5)),
                                  RandGaussianNoise(prob=0.5, std=0.03)])

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, index])
        frame, first = self.slices[int(rng.integers(len(self.slices)))]
        matrix = shared_affine(rng, frame.images.shape[1:])
        views = []
        for slice_index in (first, first + 1):
            image = cv2.warpAffine(frame.images[slice_index], matrix, (CROP, CROP), flags=cv2.INTER_LINEAR)
            self.intensity.set_random_state(int(rng.integers(1 << 31)))
            image = np.clip(np.asarray(self.intensity(image[None]))[0], 0.0, 1.0).astype(np.float32)
            # keypoints of the working slice, carried by the same affine: the correspondences hold in both crops
            points, descriptors = sift_with_descriptors(frame.images[slice_index], self.keypoints)
            points = points @ matrix[:, :2].T + matrix[:, 2] if len(points) else points
            views.append((image, *_keep_inside(points.astype(np.float32), descriptors, CROP)))
        (image_a, points_a, descriptors_a), (image_b, points_b, descriptors_b) = views
        matches, unmatched_a, unmatched_b = slice_correspondences(points_a, descriptors_a, points_b, descriptors_b)
        positions = np.array([first, first + 1], np.float32) / max(len(frame.images) - 1, 1)
        return {"images": torch.from_numpy(np.stack([image_a, image_b]))[:, None], "points": [points_a, points_b],
                "positions": torch.from_numpy(positions), "matches": torch.from_numpy(matches),
                "unmatched": [torch.from_numpy(unmatched_a), torch.from_numpy(unmatched_b)]}


def collate_pairs(items: list[dict]) -> dict:
    """One batch of 2B slices: every item's first slice, then every item's second; keypoints padded over all."""
    order = [item["points"][0] for item in items] + [item["points"][1] for item in items]
    points, padding = padded_batch(order)
    return {"image": torch.cat([torch.stack([item["images"][0] for item in items]),
                                torch.stack([item["images"][1] for item in items])]),
            "points": points, "padding": padding,
            "positions": torch.cat([torch.stack([item["positions"][0] for item in items]),
                                    torch.stack([item["positions"][1] for item in items])]),
            "matches": [item["matches"] for item in items],
            "unmatched_a": [item["unmatched"][0] for item in items],
            "unmatched_b": [item["unmatched"][1] for item in items]}
