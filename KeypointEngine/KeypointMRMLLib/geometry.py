"""4x4 matrices between numpy and VTK. The point conversions (IJK, RAS, LPS) are the engine's, VTK-free:
KeypointEngineLib.geometry."""

from __future__ import annotations

import numpy as np
import vtk


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
