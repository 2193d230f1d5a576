"""Retinal pairs with a known transform, made from one real photograph: for the demo, tests and sample data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from KeypointEngineLib.fitting import GeometricModel
from KeypointEvaluationLib.retina.appearance import photometric
from KeypointEvaluationLib.retina.synthetic_warps import RetinalWarp, random_warp


@dataclass
class SyntheticPair:
    fixed: np.ndarray
    moving: np.ndarray
    warp: RetinalWarp  # the truth: moving px -> fixed px

    def grid_points(self, count: int = 9) -> np.ndarray:
        """Moving-image points on a grid over its central region, (count**2, 2) px."""
        rows, cols = self.moving.shape[:2]
        y, x = np.mgrid[rows * 0.25:rows * 0.75:count * 1j, cols * 0.25:cols * 0.75:count * 1j]
        return np.c_[x.ravel(), y.ravel()]

    def mean_error_px(self, estimated: GeometricModel | None) -> float:
        """Mean distance (fixed px) between where the estimate and the truth put the moving grid points."""
        if estimated is None:
            return float("inf")
        points = self.grid_points()
        return float(np.linalg.norm(estimated.moving_to_fixed(points) - self.warp.moving_to_fixed(points),
                                    axis=1).mean())


def make_pair(image: np.ndarray, seed: int = 0, curvature: float = 0.03, tilt: float = 0.02) -> SyntheticPair:
    """A same-modality pair: the photograph, and the view of a camera moved by a random warp, another exposure."""
    rng = np.random.default_rng(seed)
    warp = random_warp(image.shape[:2], rng, rotation_degrees=10, scale=(0.9, 1.1), shift=(0.0, 0.08), tilt=tilt,
                       curvature=curvature)
    moving = photometric(warp.resample(image, image.shape[:2]), rng, amount=0.7)
    return SyntheticPair(image, moving, warp)
