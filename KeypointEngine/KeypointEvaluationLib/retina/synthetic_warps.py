"""Smooth retinal camera motions: a homography after a second-order (curvature) term, in size-free coordinates.

The second-order term stands for the curved retina seen from another angle, which is why quadratic models fit real
fundus pairs better than homographies.

A warp maps MOVING pixels to FIXED pixels (q -> G(q)), which is what resampling the moving image needs and what
FIRE-style control points use (fixed point = G(moving point)). Coordinates are normalised by the image centre and
half-size, so the parameters mean the same on any image size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class RetinalWarp:
    homography: np.ndarray  # 3x3 on normalised coordinates, moving -> fixed
    curvature: np.ndarray  # (2, 3): u -> u + curvature @ (x², xy, y²) before the homography
    centre: np.ndarray  # (x, y) px of the fixed image
    half_size: float  # px

    def moving_to_fixed(self, points: np.ndarray) -> np.ndarray:
        u = (np.asarray(points, dtype=np.float64) - self.centre) / self.half_size
        u = u + np.c_[u[:, 0] ** 2, u[:, 0] * u[:, 1], u[:, 1] ** 2] @ self.curvature.T
        h = np.c_[u, np.ones(len(u))] @ self.homography.T
        return h[:, :2] / h[:, 2:3] * self.half_size + self.centre

    def resample(self, fixed_image: np.ndarray, moving_shape: tuple[int, int]) -> np.ndarray:
        """The moving view: moving(q) = fixed(G(q)), black where G(q) leaves the fixed image."""
        rows, cols = moving_shape
        y, x = np.mgrid[0:rows, 0:cols]
        source = self.moving_to_fixed(np.c_[x.ravel(), y.ravel()]).astype(np.float32)
        return cv2.remap(fixed_image, source[:, 0].reshape(rows, cols), source[:, 1].reshape(rows, cols),
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def random_warp(shape: tuple[int, int], rng: np.random.Generator, rotation_degrees: float = 10.0,
                scale: tuple[float, float] = (0.9, 1.1), shift: tuple[float, float] = (0.0, 0.1),
                tilt: float = 0.05, curvature: float = 0.03) -> RetinalWarp:
    """A random warp. `shift` is the range of the translation's length as a fraction of the image size, in a random
    direction; each second-order coefficient is drawn from ±`curvature`."""
    rows, cols = shape
    angle = np.deg2rad(rng.uniform(-rotation_degrees, rotation_degrees))
    factor = rng.uniform(*scale)
    direction = rng.uniform(0, 2 * np.pi)
    length = 2.0 * rng.uniform(*shift)
    homography = np.array([[factor * np.cos(angle), -factor * np.sin(angle), length * np.cos(direction)],
                           [factor * np.sin(angle), factor * np.cos(angle), length * np.sin(direction)],
                           [rng.uniform(-tilt, tilt), rng.uniform(-tilt, tilt), 1.0]])
    second_order = rng.uniform(-curvature, curvature, size=(2, 3))
    return RetinalWarp(homography, second_order, np.array([(cols - 1) / 2, (rows - 1) / 2]), max(rows, cols) / 2)


def centred_disc(shape: tuple[int, int], diameter: float) -> np.ndarray:
    """A camera's circular aperture: True inside a centred disc of `diameter` px."""
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols]
    return ((x - (cols - 1) / 2) ** 2 + (y - (rows - 1) / 2) ** 2) <= (diameter / 2) ** 2
