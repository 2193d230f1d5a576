"""IJK <-> RAS <-> LPS for points and matrices, in numpy only (no VTK), so the engine can place what it finds.

Points are rows (x, y, z) = (i, j, k) continuous voxel indices, 0-based, voxel centres at integers; RAS and LPS
points are in mm. A 4x4 IJK->RAS matrix places a volume as Slicer does (vtkMRMLVolumeNode::GetIJKToRASMatrix).
"""

from __future__ import annotations

import numpy as np

RAS_FROM_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])  # its own inverse


def apply_matrix(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 homogeneous (affine) matrix to (N, 3) points."""
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def ras_from_ijk(points_ijk: np.ndarray, ijk_to_ras: np.ndarray) -> np.ndarray:
    return apply_matrix(ijk_to_ras, points_ijk)


def ijk_from_ras(points_ras: np.ndarray, ijk_to_ras: np.ndarray) -> np.ndarray:
    return apply_matrix(np.linalg.inv(ijk_to_ras), points_ras)


def lps_from_ras(points: np.ndarray) -> np.ndarray:
    return apply_matrix(RAS_FROM_LPS, points)


ras_from_lps = lps_from_ras


def ijk_to_ras_matrix(spacing, origin, directions=None) -> np.ndarray:
    """Compose an IJK->RAS matrix from spacing (mm), origin (RAS mm) and direction columns (RAS unit vectors)."""
    directions = np.eye(3) if directions is None else directions
    matrix = np.eye(4)
    matrix[:3, :3] = np.asarray(directions, dtype=float) @ np.diag(np.asarray(spacing, dtype=float))
    matrix[:3, 3] = origin
    return matrix


def spacing_of(ijk_to_ras: np.ndarray) -> np.ndarray:
    """Voxel spacing (mm) along i, j, k: the lengths of the matrix's first three columns."""
    return np.linalg.norm(np.asarray(ijk_to_ras, dtype=float)[:3, :3], axis=0)
