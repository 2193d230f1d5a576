"""Choosing a 2D image model by how well it predicts matches it was not fitted on.

Every candidate is fitted by least squares to all but one spatial block of the supported matches and scored on the
held-out block; blocks are compact clusters of the fixed points, so a model is judged where it has no support of its
own, which is where a model with too many parameters bends wrongly (clustered inliers at low overlap invite it) and
where one with too few misses the retina's curvature. A held-out residual counts in full up to twice the inlier
threshold and no further (a match no model predicts is an outlier, not a verdict). Ties go to the simpler model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.cluster.vq import kmeans2

from KeypointEngineLib.fitting.models import apply_model

CANDIDATES = ("similarity", "affine", "projective", "quadratic")  # simplest first
PARAMETERS = {"similarity": 4, "affine": 6, "projective": 8, "quadratic": 12}
BLOCKS = 5
# a more complex model must bring the mean squared held-out error under this share of the simpler one's: 1, as held-out
# blocks already charge a model for the parameters the data cannot pin down (a stricter margin kept homographies
# where the quadratic model was better, bench align 2026-12-01)
MARGIN = 1.0


@dataclass(frozen=True)
class Choice:
    kind: str
    held_out: dict[str, float]  # mean clipped squared held-out residual per candidate (units²); inf if unfittable


def least_squares(kind: str, fixed: np.ndarray, moving: np.ndarray) -> np.ndarray | None:
    """The `kind` model's parameters (fixed -> moving) in least squares, in apply_model's form; None if degenerate."""
    from KeypointEngineLib.fitting.planar import quadratic_least_squares

    if len(fixed) * 2 < PARAMETERS[kind]:
        return None
    if kind == "quadratic":
        return quadratic_least_squares(fixed, moving)
    if kind == "projective":
        matrix, _ = cv2.findHomography(fixed, moving, 0)
        return matrix
    if kind == "similarity":
        affine = _similarity(fixed, moving)
    else:
        affine = np.linalg.lstsq(np.c_[fixed, np.ones(len(fixed))], moving, rcond=None)[0].T
    return np.vstack([affine, [0, 0, 1]])


def _similarity(fixed: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """Umeyama's least-squares similarity (rotation, scale, translation) as a 2 x 3 matrix."""
    fixed_mean, moving_mean = fixed.mean(0), moving.mean(0)
    a, b = fixed - fixed_mean, moving - moving_mean
    u, singular, vt = np.linalg.svd(b.T @ a / len(a))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular) @ sign) / max((a ** 2).sum() / len(a), 1e-12)
    return np.c_[scale * rotation, moving_mean - scale * rotation @ fixed_mean]


def blocks(points: np.ndarray, count: int = BLOCKS, seed: int = 0) -> np.ndarray:
    """A compact spatial block label for each point (k-means on the positions, fixed seed)."""
    count = min(count, len(points))
    with warnings.catch_warnings():  # a cluster left empty only means fewer blocks
        warnings.simplefilter("ignore")
        _, labels = kmeans2(np.asarray(points, float), count, minit="++", rng=seed)
    return labels


def held_out_error(kind: str, fixed: np.ndarray, moving: np.ndarray, labels: np.ndarray, clip: float) -> float:
    """Mean over all points of the squared residual (clipped at `clip`) when their block was held out."""
    total = 0.0
    for block in np.unique(labels):
        held = labels == block
        params = least_squares(kind, fixed[~held], moving[~held])
        if params is None:
            return float("inf")
        predicted = apply_model(kind, params, fixed[held])
        residual = np.nan_to_num(np.linalg.norm(predicted - moving[held], axis=1), nan=np.inf)
        total += float(np.minimum(residual, clip) ** 2 @ np.ones(held.sum()))
    return total / len(fixed)


def choose_model(fixed: np.ndarray, moving: np.ndarray, threshold: float, candidates=CANDIDATES,
                 seed: int = 0) -> Choice:
    """The candidate that best predicts held-out blocks of the (already supported) matches, simplest on ties."""
    fixed, moving = np.asarray(fixed, float), np.asarray(moving, float)
    labels = blocks(fixed, seed=seed)
    scores = {kind: held_out_error(kind, fixed, moving, labels, 2 * threshold) for kind in candidates}
    chosen = candidates[0]
    for kind in candidates[1:]:
        if scores[kind] < MARGIN * scores[chosen]:
            chosen = kind
    return Choice(chosen, scores)
