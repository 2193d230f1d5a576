"""Volume nodes <-> numpy arrays indexed [k, j, i] (plus a trailing component axis for vector volumes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import slicer.util
import vtk

from KeypointEngineLib.errors import InputError
from KeypointMRMLLib.geometry import matrix_from_vtk, vtk_from_matrix


@dataclass
class VolumeArray:
    """Voxels [k, j, i(, c)] and the 4x4 IJK->RAS matrix that places them."""

    array: np.ndarray
    ijk_to_ras: np.ndarray

    @property
    def is_vector(self) -> bool:
        return self.array.ndim == 4

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        return tuple(self.array.shape[:3])


def ijk_to_ras_of(volume_node) -> np.ndarray:
    matrix = vtk.vtkMatrix4x4()
    volume_node.GetIJKToRASMatrix(matrix)
    return matrix_from_vtk(matrix)


def array_from_volume(volume_node) -> VolumeArray:
    """A copy of the node's voxels and its IJK->RAS matrix (parent transforms are not applied)."""
    if volume_node is None or volume_node.GetImageData() is None:
        name = volume_node.GetName() if volume_node is not None else "None"
        raise InputError(f"Volume {name!r} has no image data: load or select a volume with voxels.")
    return VolumeArray(np.array(slicer.util.arrayFromVolume(volume_node)), ijk_to_ras_of(volume_node))


def volume_from_array(scene, array: np.ndarray, ijk_to_ras: np.ndarray, name: str, *, vector: bool | None = None,
                      labelmap: bool = False, node=None):
    """Put `array` [k, j, i(, c)] with geometry `ijk_to_ras` into `node`, or into a new node added to `scene`.

    A 4-D array becomes a vector volume (e.g. RGB); `labelmap=True` makes a label map volume.
    """
    array = np.ascontiguousarray(array)
    if array.ndim not in (3, 4):
        raise ValueError(f"Volume arrays are [k, j, i] or [k, j, i, c]; got shape {array.shape}.")
    vector = array.ndim == 4 if vector is None else vector
    if node is None:
        node_class = ("vtkMRMLLabelMapVolumeNode" if labelmap
                      else "vtkMRMLVectorVolumeNode" if vector else "vtkMRMLScalarVolumeNode")
        node = scene.AddNewNodeByClass(node_class, name)
    node.SetIJKToRASMatrix(vtk_from_matrix(ijk_to_ras))
    slicer.util.updateVolumeFromArray(node, array)
    node.CreateDefaultDisplayNodes()
    return node
