"""The two data types every feature backend shares: Features (keypoints, scores, descriptors) and Matches.

Keypoints are (x, y) = (column, row) continuous pixel coordinates, 0-based, pixel centres at integers, in the image
the caller passed in (the original image, not the working scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Features:
    keypoints: np.ndarray  # (N, 2) float32, (x, y) px
    scores: np.ndarray  # (N,) float32, higher is better
    descriptors: np.ndarray  # (N, D) float32, unit L2 norm

    def __post_init__(self):
        if not (len(self.keypoints) == len(self.scores) == len(self.descriptors)):
            raise ValueError("Features need as many scores and descriptors as keypoints.")

    def __len__(self) -> int:
        return len(self.keypoints)

    @classmethod
    def empty(cls, dimension: int) -> Features:
        return cls(np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros((0, dimension), np.float32))


@dataclass
class Matches:
    fixed_index: np.ndarray  # (M,) indices into the fixed image's Features
    moving_index: np.ndarray  # (M,) indices into the moving image's Features
    distance: np.ndarray  # (M,) descriptor distances

    def __len__(self) -> int:
        return len(self.fixed_index)

    def points(self, fixed: Features, moving: Features) -> tuple[np.ndarray, np.ndarray]:
        """Matched (x, y) keypoints: (fixed points, moving points), each (M, 2)."""
        return fixed.keypoints[self.fixed_index], moving.keypoints[self.moving_index]
