"""Markups fiducial nodes <-> (N, 3) arrays of RAS points in mm."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import slicer.util


def fiducials_from_points(scene, points_ras: np.ndarray, name: str, labels: Sequence[str] | None = None,
                          color: tuple[float, float, float] | None = None, node=None,
                          descriptions: Sequence[str] | None = None):
    """A markups fiducial node (new unless `node` is given) holding `points_ras` (N, 3), optionally labelled and
    described (e.g. each keypoint's score)."""
    points_ras = np.asarray(points_ras, dtype=float).reshape(-1, 3)
    for given, what in ((labels, "labels"), (descriptions, "descriptions")):
        if given is not None and len(given) != len(points_ras):
            raise ValueError(f"{len(given)} {what} for {len(points_ras)} points.")
    if node is None:
        node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", name)
    node.CreateDefaultDisplayNodes()
    slicer.util.updateMarkupsControlPointsFromArray(node, points_ras)
    for index, label in enumerate(labels or ()):
        node.SetNthControlPointLabel(index, label)
    for index, description in enumerate(descriptions or ()):
        node.SetNthControlPointDescription(index, description)
    if color is not None:
        node.GetDisplayNode().SetSelectedColor(*color)
    return node


def points_from_fiducials(node) -> np.ndarray:
    """The node's control points as an (N, 3) RAS array (parent transforms not applied)."""
    if node.GetNumberOfControlPoints() == 0:
        return np.zeros((0, 3))
    return np.array(slicer.util.arrayFromMarkupsControlPoints(node, world=False), dtype=float)
