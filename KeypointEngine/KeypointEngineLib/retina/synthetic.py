"""Retinal pairs with a known transform, made from one real photograph: for the demo, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from KeypointEngineLib.fitting import GeometricModel


@dataclass
class SyntheticPair:
    fixed: np.ndarray
    moving: np.ndarray
    truth: GeometricModel  # fixed px -> moving px

    def mean_error_px(self, estimated: GeometricModel | None, points: np.ndarray | None = None) -> float:
        """Mean distance, in moving px, between true and estimated positions of fixed points (a grid by default)."""
        if estimated is None:
            return float("inf")
        if points is None:
            rows, cols = self.fixed.shape[:2]
            y, x = np.mgrid[rows * 0.2:rows * 0.8:9j, cols * 0.2:cols * 0.8:9j]
            points = np.c_[x.ravel(), y.ravel()]
        return float(np.linalg.norm(estimated.fixed_to_moving(points) - self.truth.fixed_to_moving(points),
                                    axis=1).mean())


def random_homography(shape: tuple[int, int], rng: np.random.Generator, rotation_degrees: float = 10.0,
                      scale_range: tuple[float, float] = (0.9, 1.1), shift_fraction: float = 0.08,
                      perspective: float = 5e-5) -> np.ndarray:
    """A fixed->moving homography about the image centre: rotation, scale, shift, slight tilt."""
    rows, cols = shape
    centre = np.array([[1, 0, -cols / 2], [0, 1, -rows / 2], [0, 0, 1]])
    angle = np.deg2rad(rng.uniform(-rotation_degrees, rotation_degrees))
    scale = rng.uniform(*scale_range)
    linear = np.array([[scale * np.cos(angle), -scale * np.sin(angle), 0],
                       [scale * np.sin(angle), scale * np.cos(angle), 0], [0, 0, 1]])
    tilt = np.eye(3)
    tilt[2, :2] = rng.uniform(-perspective, perspective, 2)
    shift = np.eye(3)
    shift[:2, 2] = rng.uniform(-shift_fraction, shift_fraction, 2) * np.array([cols, rows])
    return np.linalg.inv(centre) @ shift @ tilt @ linear @ centre


def warp_pair(image: np.ndarray, homography: np.ndarray, output_shape: tuple[int, int] | None = None) -> np.ndarray:
    """moving(q) = image(H^-1 q): the moving image seen by a camera moved by `homography` (fixed px -> moving px)."""
    rows, cols = output_shape or image.shape[:2]
    return cv2.warpPerspective(image, homography, (cols, rows), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def photometric_change(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another day, another exposure: gamma, gain, a colour cast and a little noise and blur."""
    result = image.astype(np.float32) / 255.0
    result = np.power(result, rng.uniform(0.75, 1.3)) * rng.uniform(0.8, 1.15)
    if result.ndim == 3:
        result = result * rng.uniform(0.85, 1.15, size=(1, 1, result.shape[2]))
    result = cv2.GaussianBlur(result, (0, 0), rng.uniform(0.3, 1.0))
    result = result + rng.normal(0, 0.01, result.shape)
    return (np.clip(result, 0, 1) * 255).astype(np.uint8)


def make_pair(image: np.ndarray, seed: int = 0) -> SyntheticPair:
    """A same-modality pair: the photograph, and a re-photographed version under a random homography."""
    rng = np.random.default_rng(seed)
    homography = random_homography(image.shape[:2], rng)
    moving = photometric_change(warp_pair(image, homography), rng)
    return SyntheticPair(image, moving, GeometricModel("projective", homography, np.linalg.inv(homography)))
