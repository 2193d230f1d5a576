"""Descriptor matching in any spatial dimension: mutual nearest neighbours with an optional ratio test (Lowe), and
matching guided by a first transform."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from KeypointEngineLib.features import Features, Matches


def match_mutual_nearest(fixed: Features, moving: Features, ratio: float = 1.0) -> Matches:
    """Pairs (f, m) where m is f's nearest moving descriptor and f is m's nearest fixed descriptor.

    With `ratio` < 1, a pair is also kept only if its distance is below `ratio` times the distance to f's second
    nearest moving descriptor.
    """
    if len(fixed) == 0 or len(moving) == 0:
        return Matches.empty()
    a, b = (np.asarray(features.descriptors, np.float32) for features in (fixed, moving))
    a2, b2 = (a * a).sum(axis=1), (b * b).sum(axis=1)
    # squared distances by one matrix product (numpy's BLAS: no torch on this path), in place: each nearest
    # neighbour needs only its own side's terms, and a masked row minimum finds the second (cheaper than partition)
    products = a @ b.T
    nearest_fixed = (a2[:, None] - 2 * products).argmin(axis=0)
    products *= -2
    products += b2[None, :]
    fixed_index = np.arange(len(fixed))
    nearest_moving = products.argmin(axis=1)
    best = np.sqrt(np.maximum(products[fixed_index, nearest_moving] + a2, 0))
    mutual = nearest_fixed[nearest_moving] == fixed_index
    if ratio < 1.0 and len(moving) > 1:
        products[fixed_index, nearest_moving] = np.inf
        second = np.sqrt(np.maximum(products.min(axis=1) + a2, 0))
        mutual &= best < ratio * second
    keep = np.flatnonzero(mutual)
    return Matches(keep, nearest_moving[keep], best[keep].astype(np.float32))


def match_guided(fixed: Features, moving: Features, predicted: np.ndarray, radius: float) -> Matches:
    """Matching guided by a first transform: each fixed keypoint takes the most similar moving keypoint among those
    within `radius` of where the transform predicts it (`predicted`, (N, d) in the moving keypoints' units: px, or
    mm for volumes matched in RAS), mutually.

    Descriptors need only be the best locally, so far more true matches survive than in global matching: what
    refines a transform found across modalities, where descriptors are least distinctive.
    """
    if len(fixed) == 0 or len(moving) == 0:
        return Matches.empty()
    finite = np.all(np.isfinite(predicted), axis=1)
    neighbours = cKDTree(moving.keypoints).query_ball_point(np.where(finite[:, None], predicted, 1e12), radius)
    fixed_index = np.repeat(np.arange(len(fixed)), [len(n) for n in neighbours])
    if fixed_index.size == 0:
        return Matches.empty()
    moving_index = np.concatenate([np.asarray(n, dtype=int) for n in neighbours])
    similarity = np.einsum("ij,ij->i", fixed.descriptors[fixed_index], moving.descriptors[moving_index])
    for groups in ("fixed", "moving"):  # the best candidate of each fixed keypoint, then of each moving one
        keep = _best_in_group(fixed_index if groups == "fixed" else moving_index, similarity)
        fixed_index, moving_index, similarity = fixed_index[keep], moving_index[keep], similarity[keep]
    distance = np.sqrt(np.maximum(2 - 2 * similarity, 0)).astype(np.float32)  # unit descriptors
    return Matches(fixed_index, moving_index, distance)


def _best_in_group(groups: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Mask of the highest-scoring entry of each group."""
    order = np.lexsort((-scores, groups))
    first = np.r_[True, groups[order][1:] != groups[order][:-1]]
    mask = np.zeros(len(scores), bool)
    mask[order[first]] = True
    return mask
