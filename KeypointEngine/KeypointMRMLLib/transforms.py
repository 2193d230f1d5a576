"""Transform nodes <-> 4x4 matrices and dense displacement fields, all in RAS mm.

Directions follow Slicer: a node's "to parent" transform maps points of the child (e.g. moving image) space into the
parent (e.g. fixed image) space; "from parent" is its inverse and is what resampling uses. A displacement field is
[k, j, i, 3] RAS mm vectors on a grid placed by its own IJK->RAS matrix: point + displacement(point).
Linear results go into vtkMRMLLinearTransformNode; anything non-linear (a 2D homography included, whose perspective
row ITK's .h5 storage does not keep) into a vtkMRMLGridTransformNode, which saves and reloads exactly.
"""

from __future__ import annotations

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from KeypointMRMLLib.geometry import matrix_from_vtk, vtk_from_matrix

TO_PARENT, FROM_PARENT = "to_parent", "from_parent"


def linear_transform_from_matrix(scene, to_parent: np.ndarray, name: str, node=None):
    """A linear transform node (new unless `node` is given) whose to-parent matrix is `to_parent` (4x4, RAS)."""
    to_parent = np.asarray(to_parent, dtype=float)
    if to_parent.shape != (4, 4) or not np.allclose(to_parent[3], [0, 0, 0, 1]):
        raise ValueError("A linear transform needs a 4x4 affine matrix with last row (0, 0, 0, 1); a projective "
                         "transform must go into a grid transform (grid_transform_from_displacement).")
    if node is None:
        node = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", name)
    node.SetMatrixTransformToParent(vtk_from_matrix(to_parent))
    return node


def linear_transform_from_registration(scene, fixed_to_moving_ras: np.ndarray, name: str, node=None):
    """A linear transform node from a fitted volume registration, which maps fixed RAS -> moving RAS (the direction
    ITK/Slicer transform files store): its ToParent is the inverse, so applied to the moving volume it aligns it
    with the fixed one, and saved it writes the fitted direction."""
    return linear_transform_from_matrix(scene, np.linalg.inv(np.asarray(fixed_to_moving_ras, dtype=float)), name,
                                        node=node)


def matrix_from_linear_transform(node) -> np.ndarray:
    """The node's to-parent matrix (4x4, RAS)."""
    matrix = vtk.vtkMatrix4x4()
    if not node.GetMatrixTransformToParent(matrix):
        raise ValueError(f"Transform {node.GetName()!r} is not linear.")
    return matrix_from_vtk(matrix)


def grid_transform_from_displacement(scene, displacement: np.ndarray, grid_ijk_to_ras: np.ndarray, name: str,
                                     direction: str = FROM_PARENT, node=None):
    """A grid transform node from a displacement field [k, j, i, 3] (RAS mm) on the grid `grid_ijk_to_ras`.

    `direction` says which way the field maps: FROM_PARENT (parent/fixed point -> child/moving point, as ITK stores
    it and resampling uses it) or TO_PARENT.
    """
    displacement = np.asarray(displacement, dtype=np.float64)
    if displacement.ndim != 4 or displacement.shape[3] != 3:
        raise ValueError(f"A displacement field is [k, j, i, 3]; got shape {displacement.shape}.")
    if direction not in (TO_PARENT, FROM_PARENT):
        raise ValueError(f"direction must be {TO_PARENT!r} or {FROM_PARENT!r}.")
    spacing = np.linalg.norm(grid_ijk_to_ras[:3, :3], axis=0)
    directions = grid_ijk_to_ras[:3, :3] / spacing

    grid = vtk.vtkImageData()
    grid.SetDimensions(displacement.shape[2], displacement.shape[1], displacement.shape[0])
    grid.SetOrigin(*grid_ijk_to_ras[:3, 3])
    grid.SetSpacing(*spacing)
    vectors = numpy_support.numpy_to_vtk(displacement.reshape(-1, 3), deep=True, array_type=vtk.VTK_DOUBLE)
    grid.GetPointData().SetScalars(vectors)

    grid_transform = slicer.vtkOrientedGridTransform()
    grid_transform.SetDisplacementGridData(grid)
    direction_matrix = np.eye(4)
    direction_matrix[:3, :3] = directions
    grid_transform.SetGridDirectionMatrix(vtk_from_matrix(direction_matrix))
    grid_transform.SetInterpolationModeToCubic()
    if node is None:
        node = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", name)
    if direction == FROM_PARENT:
        node.SetAndObserveTransformFromParent(grid_transform)
    else:
        node.SetAndObserveTransformToParent(grid_transform)
    return node


def displacement_from_grid_transform(node) -> tuple[np.ndarray, np.ndarray, str]:
    """(displacement [k, j, i, 3] RAS mm, grid IJK->RAS, direction) of a grid transform node."""
    from_parent = node.GetTransformFromParent()
    if node.IsAbstractTransformComputedFromInverse(from_parent):  # the node stores the to-parent grid
        direction, grid_transform = TO_PARENT, node.GetTransformToParent()
    else:
        direction, grid_transform = FROM_PARENT, from_parent
    grid = grid_transform.GetDisplacementGrid()
    if grid is None:
        raise ValueError(f"Transform {node.GetName()!r} has no displacement grid.")
    dimensions = grid.GetDimensions()
    field = numpy_support.vtk_to_numpy(grid.GetPointData().GetScalars()).reshape(
        dimensions[2], dimensions[1], dimensions[0], 3).astype(np.float64)
    ijk_to_ras = np.eye(4)
    directions = matrix_from_vtk(grid_transform.GetGridDirectionMatrix())[:3, :3]
    ijk_to_ras[:3, :3] = directions @ np.diag(grid.GetSpacing())
    ijk_to_ras[:3, 3] = grid.GetOrigin()
    return field, ijk_to_ras, direction


def transform_points(node, points_ras: np.ndarray, direction: str = TO_PARENT) -> np.ndarray:
    """Map (N, 3) RAS points through the node's to-parent (default) or from-parent transform, as Slicer does."""
    transform = node.GetTransformToParent() if direction == TO_PARENT else node.GetTransformFromParent()
    return np.array([transform.TransformPoint(*point) for point in np.asarray(points_ras, dtype=float)])

