"""IJK <-> RAS <-> LPS for points and matrices. Points are rows (x, y, z) = (i, j, k) continuous indices, 0-based."""

from __future__ import annotations

import numpy as np
import vtk

RAS_FROM_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def matrix_from_vtk(matrix: vtk.vtkMatrix4x4) -> np.ndarray:
    return np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])


def vtk_from_matrix(array: np.ndarray) -> vtk.vtkMatrix4x4:
    array = np.asarray(array, dtype=float)
    if array.shape != (4, 4):
        raise ValueError(f"Expected a 4x4 matrix, got shape {array.shape}.")
    matrix = vtk.vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            matrix.SetElement(r, c, array[r, c])
    return matrix


def apply_matrix(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 homogeneous matrix to (N, 3) points."""
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def ras_from_ijk(points_ijk: np.ndarray, ijk_to_ras: np.ndarray) -> np.ndarray:
    return apply_matrix(ijk_to_ras, points_ijk)


def ijk_from_ras(points_ras: np.ndarray, ijk_to_ras: np.ndarray) -> np.ndarray:
    return apply_matrix(np.linalg.inv(ijk_to_ras), points_ras)


def lps_from_ras(points: np.ndarray) -> np.ndarray:
    return apply_matrix(RAS_FROM_LPS, points)  # the flip is its own inverse


ras_from_lps = lps_from_ras


def ijk_to_ras_matrix(spacing, origin, directions=None) -> np.ndarray:
    """Compose an IJK->RAS matrix from spacing (mm), origin (RAS mm) and direction columns (RAS unit vectors)."""
    directions = np.eye(3) if directions is None else directions
    matrix = np.eye(4)
    matrix[:3, :3] = np.asarray(directions, dtype=float) @ np.diag(np.asarray(spacing, dtype=float))
    matrix[:3, 3] = origin
    return matrix
