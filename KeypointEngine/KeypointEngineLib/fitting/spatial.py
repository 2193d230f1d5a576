"""Robust fitting of 3D volume models to matched points in RAS mm: rigid, similarity and affine.

scikit-image's RANSAC draws minimal samples and fits each by least squares (Umeyama's closed form for rigid and
similarity motions); the best consensus is then refitted on its inliers until they no longer change, which scores
like MSAC's local optimisation without its cost. Models map fixed RAS -> moving RAS.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import ransac
from skimage.transform import AffineTransform, EuclideanTransform, SimilarityTransform

from KeypointEngineLib.fitting.models import Fit, GeometricModel, score
from KeypointEngineLib.geometry import apply_matrix

TRANSFORM_CLASSES = {"rigid": EuclideanTransform, "similarity": SimilarityTransform, "affine": AffineTransform}
MIN_POINTS = {"rigid": 3, "similarity": 3, "affine": 4}
REFITS = 5


def _estimate(kind: str, fixed: np.ndarray, moving: np.ndarray) -> np.ndarray | None:
    """Least-squares 4x4 matrix fixed -> moving, or None when the points do not determine one."""
    transform_class = TRANSFORM_CLASSES[kind]
    if hasattr(transform_class, "from_estimate"):  # scikit-image >= 0.26
        transform = transform_class.from_estimate(fixed, moving)
        matrix = transform.params if transform else None
    else:
        transform = transform_class(dimensionality=3)
        matrix = transform.params if transform.estimate(fixed, moving) else None
    if matrix is None or not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix[:3, :3])) < 1e-9:
        return None
    return matrix


def fit_spatial(kind: str, fixed: np.ndarray, moving: np.ndarray, threshold: float, seed: int = 0) -> Fit | None:
    """Fit `kind` robustly to (N, 3) matched points (mm); `threshold` is the inlier distance in mm."""
    fixed, moving = np.asarray(fixed, np.float64), np.asarray(moving, np.float64)
    if len(fixed) < MIN_POINTS[kind]:
        return None
    _, inliers = ransac((fixed, moving), TRANSFORM_CLASSES[kind], min_samples=MIN_POINTS[kind],
                        residual_threshold=threshold, max_trials=2000, stop_probability=0.999, rng=seed)
    if inliers is None or inliers.sum() < MIN_POINTS[kind]:
        return None
    matrix = None
    for _ in range(REFITS):
        refitted = _estimate(kind, fixed[inliers], moving[inliers])
        if refitted is None:
            break
        matrix = refitted
        updated = np.linalg.norm(apply_matrix(matrix, fixed) - moving, axis=1) < threshold
        if updated.sum() < MIN_POINTS[kind] or np.array_equal(updated, inliers):
            break
        inliers = updated
    if matrix is None:
        return None
    return score(GeometricModel(kind, matrix, np.linalg.inv(matrix)), fixed, moving, inliers)
