"""The benchmark's measures of two volumes' keypoints under their true transform (fixed RAS -> moving RAS).

- repeatability: share of the keypoints in the overlap (those the other volume's body mask holds once mapped) with a
  keypoint of the other volume within `tolerance` mm, both directions pooled (SP3D's "repeatability (2 mm)");
- matching score: correct mutual-nearest descriptor matches (within `tolerance` mm) per keypoint in the overlap,
  the mean of both volumes' shares (SuperPoint's);
- MDBL: mean distance between the landmarks of the mutual-nearest matches in the overlap, wrong matches included
  (as the SP3D paper's figure implies), mm;
- TRE: mean error of an estimated transform on a 10 mm grid inside the fixed body mask, mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from KeypointEngineLib.features import Features
from KeypointEngineLib.geometry import apply_matrix, ijk_from_ras, ras_from_ijk
from KeypointEngineLib.matching import match_mutual_nearest
from KeypointEngineLib.volume.preprocess import WorkingVolume

TOLERANCE_MM = 2.0
GRID_MM = 10.0


def inside(working: WorkingVolume, points_ras: np.ndarray) -> np.ndarray:
    """(N,) bool: which RAS points fall in the working volume's mask."""
    index = np.round(ijk_from_ras(points_ras, working.ijk_to_ras)).astype(int)
    shape = np.array(working.mask.shape[::-1])
    valid = np.all((index >= 0) & (index < shape), axis=1)
    result = np.zeros(len(points_ras), bool)
    result[valid] = working.mask[index[valid, 2], index[valid, 1], index[valid, 0]]
    return result


@dataclass
class KeypointScores:
    repeatability: float
    matching_score: float
    mdbl: float  # mm; nan without matches
    overlap_keypoints: int


def keypoint_scores(fixed: Features, moving: Features, fixed_to_moving: np.ndarray, fixed_working: WorkingVolume,
                    moving_working: WorkingVolume, tolerance: float = TOLERANCE_MM) -> KeypointScores:
    moving_to_fixed = np.linalg.inv(fixed_to_moving)
    fixed_in_moving = apply_matrix(fixed_to_moving, fixed.keypoints)
    moving_in_fixed = apply_matrix(moving_to_fixed, moving.keypoints)
    fixed_seen, moving_seen = inside(moving_working, fixed_in_moving), inside(fixed_working, moving_in_fixed)
    overlap = int(fixed_seen.sum() + moving_seen.sum())
    if not overlap or not len(fixed) or not len(moving):
        return KeypointScores(0.0, 0.0, float("nan"), overlap)
    found = (_nearest(fixed_in_moving[fixed_seen], moving.keypoints) <= tolerance).sum()
    found += (_nearest(moving_in_fixed[moving_seen], fixed.keypoints) <= tolerance).sum()
    matches = match_mutual_nearest(fixed, moving)
    pairs = [(i, j) for i, j in zip(matches.fixed_index, matches.moving_index, strict=True)
             if fixed_seen[i] and moving_seen[j]]
    if not pairs:
        return KeypointScores(float(found / overlap), 0.0, float("nan"), overlap)
    i, j = np.array(pairs).T
    distances = np.linalg.norm(fixed_in_moving[i] - moving.keypoints[j], axis=1)
    correct = float((distances <= tolerance).sum())
    score = np.mean([correct / max(int(fixed_seen.sum()), 1), correct / max(int(moving_seen.sum()), 1)])
    return KeypointScores(float(found / overlap), float(score), float(distances.mean()), overlap)


def _nearest(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    if not len(points):
        return np.zeros(0)
    return cKDTree(targets).query(points)[0]


def grid_points(working: WorkingVolume, step_mm: float = GRID_MM) -> np.ndarray:
    """(N, 3) RAS points on a `step_mm` grid inside the working volume's mask."""
    stride = max(int(round(step_mm / float(working.spacing[0]))), 1)
    k, j, i = np.nonzero(working.mask[::stride, ::stride, ::stride])
    return ras_from_ijk(np.stack([i, j, k], axis=1).astype(np.float64) * stride, working.ijk_to_ras)


def target_registration_error(estimated: np.ndarray | None, truth: np.ndarray, points: np.ndarray) -> float:
    """Mean distance (mm) between where `estimated` and `truth` (4x4 fixed -> moving) take `points`; inf without an
    estimate, or without a truth (unrelated volumes: any estimate is wrong)."""
    if estimated is None or truth is None or not len(points):
        return float("inf")
    return float(np.linalg.norm(apply_matrix(estimated, points) - apply_matrix(truth, points), axis=1).mean())
