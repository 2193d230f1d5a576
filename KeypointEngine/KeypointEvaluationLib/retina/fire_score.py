"""The FIRE Registration Score (Hernandez-Matas et al., 2017), and the published FIRE protocol of later papers.

Error of one pair: the mean distance between the fixed control points and the moving control points mapped onto the
fixed image by the estimated transform, in pixels at the original resolution; a failed registration has infinite
error. The score is the area under the success-rate curve (share of pairs with error <= t) for t from 0 to 25 px,
normalised to 0..1; reported per category (S, P, A), over all pairs (pair-weighted) and as the mean of the categories.

The published protocol (as in SuperRetina's evaluation, Liu et al., 2022) is the discrete form most papers report: the
success rate (error < t) at t = 1, 2, ..., 25 px, averaged into an AUC per category, with pair P37 left out, and mAUC
the mean of the S, P and A AUCs. `registration_score` is the continuous variant of the same curve.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from KeypointEngineLib.fitting import GeometricModel

MAX_THRESHOLD_PX = 25.0
PUBLISHED_THRESHOLDS_PX = np.arange(1, 26, dtype=float)
PUBLISHED_EXCLUDED_PAIRS = frozenset({"P37"})
PUBLISHED_CATEGORIES = ("S", "P", "A")


def pair_error(model: GeometricModel | None, fixed_points: np.ndarray, moving_points: np.ndarray) -> float:
    """Mean distance (px) between fixed control points and the moving ones mapped to the fixed image; inf if failed."""
    if model is None:
        return float("inf")
    mapped = model.moving_to_fixed(np.asarray(moving_points, dtype=float))
    distances = np.linalg.norm(mapped - np.asarray(fixed_points, dtype=float), axis=1)
    return float(distances.mean()) if np.all(np.isfinite(distances)) else float("inf")


def success_curve(errors: Sequence[float], thresholds: np.ndarray) -> np.ndarray:
    """Share of pairs whose error is at most each threshold."""
    errors = np.asarray(errors, dtype=float)
    if errors.size == 0:
        return np.zeros_like(thresholds, dtype=float)
    return (errors[None, :] <= thresholds[:, None]).mean(axis=1)


def registration_score(errors: Iterable[float], max_threshold: float = MAX_THRESHOLD_PX) -> float:
    """Exact area under the success-rate curve over [0, max_threshold], divided by max_threshold.

    A pair with error e < max_threshold counts as a success on (e, max_threshold], so it adds
    (max_threshold - e) / max_threshold; the score is the mean of that over all pairs.
    """
    errors = np.asarray(list(errors), dtype=float)
    if errors.size == 0:
        return float("nan")
    contribution = np.clip((max_threshold - errors) / max_threshold, 0.0, 1.0)
    return float(np.where(np.isfinite(errors), contribution, 0.0).mean())


def score_by_category(errors: dict[str, list[float]]) -> dict[str, float]:
    """Score per category, 'overall' (every pair weighs the same) and 'mean' (every category weighs the same)."""
    scores = {category: registration_score(values) for category, values in errors.items()}
    scores["overall"] = registration_score([e for values in errors.values() for e in values])
    per_category = [scores[category] for category in errors if errors[category]]
    scores["mean"] = float(np.mean(per_category)) if per_category else float("nan")
    return scores


def published_auc(errors: Iterable[float]) -> float:
    """Mean over t = 1..25 px of the share of pairs with error < t (a failure's infinite error never succeeds)."""
    errors = np.asarray(list(errors), dtype=float)
    if errors.size == 0:
        return float("nan")
    return float((errors[None, :] < PUBLISHED_THRESHOLDS_PX[:, None]).mean())


def published_scores(errors: dict[str, list[float]], ids: dict[str, list[str]]) -> dict[str, float]:
    """AUC of S, P and A with the excluded pairs left out, and mAUC: the mean of the categories that have pairs."""
    scores = {}
    for category in PUBLISHED_CATEGORIES:
        kept = [error for error, pair_id in zip(errors.get(category, []), ids.get(category, []), strict=True)
                if pair_id not in PUBLISHED_EXCLUDED_PAIRS]
        if kept:
            scores[category] = published_auc(kept)
    scores["mAUC"] = float(np.mean(list(scores.values()))) if scores else float("nan")
    return scores
