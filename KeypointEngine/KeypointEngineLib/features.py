"""The two data types every feature backend shares, in 2D and 3D: Features (keypoints, scores, descriptors) and
Matches.

Keypoints are (x, y[, z]) = (i, j[, k]) continuous indices, 0-based, pixel/voxel centres at integers, in the image
the caller passed in (the original image, not a working scale), unless a caller maps them to mm (3D matching fits in
RAS mm). Descriptors are unit L2 vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Features:
    keypoints: np.ndarray  # (N, d) float, d = 2 (x, y) or 3 (x, y, z)
    scores: np.ndarray  # (N,) float32, higher is better
    descriptors: np.ndarray  # (N, D) float32, unit L2 norm

    def __post_init__(self):
        if self.keypoints.ndim != 2 or self.keypoints.shape[1] not in (2, 3):
            raise ValueError(f"Keypoints are (N, 2) or (N, 3); got shape {self.keypoints.shape}.")
        if not (len(self.keypoints) == len(self.scores) == len(self.descriptors)):
            raise ValueError("Features need as many scores and descriptors as keypoints.")

    def __len__(self) -> int:
        return len(self.keypoints)

    @property
    def dimension(self) -> int:
        """2 for images, 3 for volumes."""
        return self.keypoints.shape[1]

    @classmethod
    def empty(cls, dimension: int, descriptor_dimension: int) -> Features:
        """No keypoints, in `dimension` (2 or 3) spatial axes with descriptors of `descriptor_dimension`."""
        return cls(np.zeros((0, dimension), np.float32), np.zeros(0, np.float32),
                   np.zeros((0, descriptor_dimension), np.float32))

    def with_keypoints(self, keypoints: np.ndarray) -> Features:
        """The same features at other positions (e.g. mapped from a working scale, or to mm)."""
        return Features(np.asarray(keypoints), self.scores, self.descriptors)


@dataclass
class Matches:
    fixed_index: np.ndarray  # (M,) indices into the fixed image's Features
    moving_index: np.ndarray  # (M,) indices into the moving image's Features
    distance: np.ndarray  # (M,) descriptor distances

    def __len__(self) -> int:
        return len(self.fixed_index)

    @classmethod
    def empty(cls) -> Matches:
        return cls(np.zeros(0, int), np.zeros(0, int), np.zeros(0, np.float32))

    def points(self, fixed: Features, moving: Features) -> tuple[np.ndarray, np.ndarray]:
        """Matched keypoints: (fixed points, moving points), each (M, d)."""
        return fixed.keypoints[self.fixed_index], moving.keypoints[self.moving_index]
