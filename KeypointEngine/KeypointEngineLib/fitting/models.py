"""Geometric models and robust fits, in 2D (px) and 3D (mm) alike.

A model maps FIXED points to MOVING points and carries its inverse: for images the direction resampling needs
(fixed px -> moving px), for volumes the direction ITK and Slicer transform files store (fixed RAS -> moving RAS;
the MRML layer sets a node's ToParent to the inverse, which maps moving onto fixed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError
from skimage.transform import PolynomialTransform

LINEAR_KINDS = ("rigid", "similarity", "affine")


@dataclass
class GeometricModel:
    kind: str
    # fixed -> moving: a (d+1) x (d+1) homogeneous matrix, or (2, 6) polynomial coefficients for "quadratic"
    forward: np.ndarray
    inverse: np.ndarray  # moving -> fixed, same form

    @property
    def dimension(self) -> int:
        return 2 if self.kind == "quadratic" else self.forward.shape[0] - 1

    @property
    def is_linear(self) -> bool:
        """Affine in homogeneous coordinates (rigid, similarity, affine), so a linear transform node can hold it."""
        return self.kind in LINEAR_KINDS

    def fixed_to_moving(self, points: np.ndarray) -> np.ndarray:
        return apply_model(self.kind, self.forward, points)

    def moving_to_fixed(self, points: np.ndarray) -> np.ndarray:
        return apply_model(self.kind, self.inverse, points)


@dataclass
class Fit:
    model: GeometricModel
    inliers: np.ndarray  # (M,) bool over the matches given
    residuals: np.ndarray  # (M,) distances in the moving points' units (px or mm); inf where undefined


def apply_model(kind: str, params: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, d) points through a homogeneous matrix (projective division included) or quadratic coefficients."""
    if kind == "quadratic":
        return PolynomialTransform(params)(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    dimension = params.shape[0] - 1
    points = np.asarray(points, dtype=np.float64).reshape(-1, dimension)
    homogeneous = np.c_[points, np.ones(len(points))] @ params.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return homogeneous[:, :dimension] / homogeneous[:, dimension:]


def score(model: GeometricModel, fixed: np.ndarray, moving: np.ndarray, inliers: np.ndarray) -> Fit:
    """The fit of `model` with the given inlier mask, and every match's residual."""
    residuals = np.linalg.norm(model.fixed_to_moving(fixed) - moving, axis=1)
    return Fit(model, np.asarray(inliers, bool), np.nan_to_num(residuals, nan=np.inf))


def spread(points: np.ndarray, reference_size: float) -> float:
    """Area (2D) or volume (3D) of the points' convex hull over `reference_size`: how well they cover it (0..1)."""
    points = np.asarray(points, dtype=float)
    if len(points) <= points.shape[1] or reference_size <= 0:
        return 0.0
    try:
        return float(min(ConvexHull(points).volume / reference_size, 1.0))  # a 2D hull's "volume" is its area
    except QhullError:
        return 0.0
