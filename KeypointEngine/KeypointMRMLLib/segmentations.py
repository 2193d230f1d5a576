"""Segmentation nodes <-> label maps [k, j, i] on a reference geometry.

Label value n is segment n (1-based, in the order of `segment_names`); 0 is background. The conversions go through
Slicer's own segmentations logic, so binary-labelmap geometry is handled exactly as in the Segment Editor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import slicer
import slicer.util
import vtk

from KeypointMRMLLib.scene import remove_node
from KeypointMRMLLib.volumes import volume_from_array


def segmentation_from_labelmap(scene, labelmap: np.ndarray, ijk_to_ras: np.ndarray, segment_names: Sequence[str],
                               name: str, reference_volume=None):
    """A new segmentation node with one segment per label value 1..len(segment_names)."""
    labelmap = np.asarray(labelmap)
    if labelmap.ndim != 3:
        raise ValueError(f"A label map is [k, j, i]; got shape {labelmap.shape}.")
    if labelmap.max(initial=0) > len(segment_names):
        raise ValueError(f"The label map has values up to {labelmap.max()} but only {len(segment_names)} segment "
                         "names were given.")
    segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    segmentation.CreateDefaultDisplayNodes()
    if reference_volume is not None:
        segmentation.SetReferenceImageGeometryParameterFromVolumeNode(reference_volume)
    temporary = volume_from_array(scene, labelmap.astype(np.int16), ijk_to_ras, f"{name} (import)", labelmap=True)
    try:
        for value, segment_name in enumerate(segment_names, start=1):
            single = volume_from_array(scene, (labelmap == value).astype(np.uint8), ijk_to_ras, segment_name,
                                       labelmap=True, node=temporary)
            before = segmentation.GetSegmentation().GetNumberOfSegments()
            if not slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(single, segmentation):
                raise RuntimeError(f"Slicer could not import segment {segment_name!r}.")
            if segmentation.GetSegmentation().GetNumberOfSegments() == before:  # empty label: keep an empty segment
                segmentation.GetSegmentation().AddEmptySegment("", segment_name)
            segment = segmentation.GetSegmentation().GetNthSegment(before)
            segment.SetName(segment_name)
    finally:
        remove_node(temporary)
    return segmentation


def labelmap_from_segmentation(segmentation, shape: Sequence[int], ijk_to_ras: np.ndarray,
                               segment_ids: Sequence[str] | None = None) -> np.ndarray:
    """Rasterise the segments (all, or `segment_ids` in that order) onto the grid `shape` [k, j, i] + `ijk_to_ras`;
    value n marks the n-th segment."""
    scene = segmentation.GetScene()
    reference = volume_from_array(scene, np.zeros(shape, dtype=np.uint8), ijk_to_ras, "reference (export)")
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labelmap (export)")
    ids = vtk.vtkStringArray()
    if segment_ids is None:
        segmentation.GetSegmentation().GetSegmentIDs(ids)
    else:
        for segment_id in segment_ids:
            ids.InsertNextValue(segment_id)
    try:
        if not slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
                segmentation, ids, labelmap, reference, slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY):
            raise RuntimeError(f"Slicer could not export segmentation {segmentation.GetName()!r} to a label map.")
        image = labelmap.GetImageData()
        if image is None or image.GetPointData().GetScalars() is None:  # no segments, or only empty ones
            return np.zeros(shape, np.uint8)
        return np.array(slicer.util.arrayFromVolume(labelmap))
    finally:
        remove_node(reference)
        remove_node(labelmap)
