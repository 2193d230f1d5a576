"""Robust fitting of 2D image models to matched points (px), and the automatic choice among them.

Models map FIXED image pixels to MOVING image pixels (the direction resampling needs) and carry their inverse, so
moving annotations can be mapped onto the fixed image. OpenCV fits what it supports (USAC MAGSAC++ for homographies,
RANSAC for similarity and affine); the 12-parameter quadratic model is fitted by scikit-image's RANSAC with a
second-order PolynomialTransform and then refitted on all inliers.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.measure import ransac
from skimage.transform import PolynomialTransform

from KeypointEngineLib.fitting.models import Fit, GeometricModel, apply_model, score
from KeypointEngineLib.fitting.selection import choose_model

MODELS = ("similarity", "affine", "projective", "quadratic")
MIN_INLIERS = {"similarity": 3, "affine": 4, "projective": 8, "quadratic": 12}  # the fewest points each can fit
AUTO_MIN_SUPPORT = 15  # fewer supported matches than this cannot tell models apart by held-out blocks


def fit_planar(kind: str, fixed: np.ndarray, moving: np.ndarray, threshold: float, seed: int = 0) -> Fit | None:
    """Fit `kind` robustly to matched points (fixed[i] <-> moving[i], px); None when too few points or no model."""
    fixed, moving = np.asarray(fixed, np.float64), np.asarray(moving, np.float64)
    if len(fixed) < MIN_INLIERS[kind]:
        return None
    cv2.setRNGSeed(seed)
    if kind == "quadratic":
        return _fit_quadratic(fixed, moving, threshold, seed)
    if kind == "projective":
        matrix, mask = cv2.findHomography(fixed, moving, cv2.USAC_MAGSAC, threshold, maxIters=5000, confidence=0.999)
    else:
        estimate = cv2.estimateAffinePartial2D if kind == "similarity" else cv2.estimateAffine2D
        affine, mask = estimate(fixed, moving, method=cv2.RANSAC, ransacReprojThreshold=threshold, maxIters=5000,
                                confidence=0.999, refineIters=10)
        matrix = None if affine is None else np.vstack([affine, [0, 0, 1]])
    if matrix is None or abs(np.linalg.det(matrix)) < 1e-12:
        return None
    model = GeometricModel(kind, matrix, np.linalg.inv(matrix))
    return score(model, fixed, moving, mask.ravel().astype(bool))


def _fit_quadratic(fixed, moving, threshold, seed) -> Fit | None:
    # Start from a homography's inliers (at twice the threshold, as the curvature a homography misses is what the
    # quadratic model adds), then alternate least-squares fits and inlier selection: fast and stable. Only without a
    # homography to start from does the quadratic model get its own (slower) RANSAC.
    start = fit_planar("projective", fixed, moving, 2 * threshold, seed)
    if start is not None and start.inliers.sum() >= MIN_INLIERS["quadratic"]:
        inliers = start.inliers
        for _ in range(5):
            forward = quadratic_least_squares(fixed[inliers], moving[inliers])
            updated = np.linalg.norm(apply_model("quadratic", forward, fixed) - moving, axis=1) < threshold
            if updated.sum() < MIN_INLIERS["quadratic"] or np.array_equal(updated, inliers):
                break
            inliers = updated
    else:
        result, inliers = ransac((fixed, moving), PolynomialTransform, min_samples=6, residual_threshold=threshold,
                                 max_trials=1000, stop_probability=0.999, rng=seed)
        if result is None or inliers is None:
            return None
    if inliers.sum() < MIN_INLIERS["quadratic"]:
        return None
    forward = quadratic_least_squares(fixed[inliers], moving[inliers])
    inverse = quadratic_least_squares(moving[inliers], fixed[inliers])
    return score(GeometricModel("quadratic", forward, inverse), fixed, moving, inliers)


# terms 1, x, y, x², xy, y²: the order of scikit-image's PolynomialTransform, so its evaluation can be reused
_QUADRATIC_DEGREES = np.array([0, 1, 1, 2, 2, 2])


def quadratic_least_squares(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(2, 6) coefficients of the second-order polynomial mapping source to target points, in least squares.

    Coordinates are scaled to about 1 before solving (pixel coordinates squared would make the system ill-conditioned),
    and the coefficients scaled back.
    """
    scale = 1.0 / max(float(np.abs(source).mean()), 1e-9)
    x, y = source[:, 0] * scale, source[:, 1] * scale
    design = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    return (coefficients * scale ** _QUADRATIC_DEGREES[:, None]).T


def fit_auto(fixed: np.ndarray, moving: np.ndarray, threshold: float, seed: int = 0) -> Fit | None:
    """The model that best predicts the matches it was not fitted on (selection.py), among those the projective and
    quadratic fits support; with too few of them to tell models apart, the affine fit, else the similarity, else the
    projective one."""
    projective = fit_planar("projective", fixed, moving, threshold, seed)
    quadratic = fit_planar("quadratic", fixed, moving, threshold, seed) if projective is not None else None
    supported = np.zeros(len(fixed), bool)
    for fit in (projective, quadratic):
        if fit is not None:
            supported |= fit.inliers
    if supported.sum() >= AUTO_MIN_SUPPORT:
        kind = choose_model(fixed[supported], moving[supported], threshold, seed=seed).kind
        chosen = {"projective": projective, "quadratic": quadratic}.get(kind) or fit_planar(kind, fixed, moving,
                                                                                          threshold, seed)
        if chosen is not None:
            return chosen
    for kind in ("affine", "similarity"):
        fit = fit_planar(kind, fixed, moving, threshold, seed)
        if fit is not None:
            return fit
    return projective
