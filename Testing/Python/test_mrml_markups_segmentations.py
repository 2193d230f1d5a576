"""Markups fiducials <-> RAS arrays and segmentations <-> label maps, through real nodes and Slicer's storage."""

from __future__ import annotations

import numpy as np
import pytest

from KeypointEngineLib.geometry import ijk_from_ras, ras_from_ijk
from KeypointMRMLLib.markups import fiducials_from_points, points_from_fiducials
from KeypointMRMLLib.scene import make_scene
from KeypointMRMLLib.segmentations import labelmap_from_segmentation, segmentation_from_labelmap
from KeypointMRMLLib.storage import load_node, save_node
from KeypointMRMLLib.volumes import volume_from_array


def test_fiducials_round_trip_through_mrk_json(scene, oblique_ijk_to_ras, tmp_path):
    points_ijk = np.array([[0.0, 0.0, 0.0], [4.5, 2.25, 1.0], [8.0, 6.0, 4.0]])
    points_ras = ras_from_ijk(points_ijk, oblique_ijk_to_ras)
    node = fiducials_from_points(scene, points_ras, "keypoints", labels=["a", "b", "c"])
    np.testing.assert_allclose(points_from_fiducials(node), points_ras, atol=1e-12)

    path = save_node(node, tmp_path / "keypoints.mrk.json")
    reloaded = load_node(make_scene(), path, "vtkMRMLMarkupsFiducialNode")
    np.testing.assert_allclose(points_from_fiducials(reloaded), points_ras, atol=1e-6)
    assert [reloaded.GetNthControlPointLabel(i) for i in range(3)] == ["a", "b", "c"]
    np.testing.assert_allclose(ijk_from_ras(points_from_fiducials(reloaded), oblique_ijk_to_ras), points_ijk,
                               atol=1e-6)


def test_empty_fiducial_node_gives_empty_array(scene):
    node = fiducials_from_points(scene, np.zeros((0, 3)), "none")
    assert points_from_fiducials(node).shape == (0, 3)


def test_fiducial_labels_must_match_points(scene):
    with pytest.raises(ValueError, match="2 labels for 1 points"):
        fiducials_from_points(scene, np.zeros((1, 3)), "bad", labels=["a", "b"])


def _cardiac_like_labels(shape=(4, 12, 10)) -> np.ndarray:
    labels = np.zeros(shape, dtype=np.uint8)
    labels[1:3, 2:6, 2:5] = 1
    labels[0:4, 6:10, 4:9] = 2
    labels[2, 8, 6] = 3  # a single voxel
    return labels


def test_segmentation_round_trips_through_seg_nrrd_on_oblique_reference(scene, oblique_ijk_to_ras, tmp_path):
    labels = _cardiac_like_labels()
    reference = volume_from_array(scene, np.zeros(labels.shape, np.float32), oblique_ijk_to_ras, "mri")
    names = ["right ventricle", "myocardium", "left ventricle"]
    segmentation = segmentation_from_labelmap(scene, labels, oblique_ijk_to_ras, names, "heart", reference)
    assert [segmentation.GetSegmentation().GetNthSegment(i).GetName() for i in range(3)] == names
    np.testing.assert_array_equal(labelmap_from_segmentation(segmentation, labels.shape, oblique_ijk_to_ras), labels)

    path = save_node(segmentation, tmp_path / "heart.seg.nrrd")
    reloaded = load_node(make_scene(), path, "vtkMRMLSegmentationNode")
    assert reloaded.GetSegmentation().GetNumberOfSegments() == 3
    np.testing.assert_array_equal(labelmap_from_segmentation(reloaded, labels.shape, oblique_ijk_to_ras), labels)


def test_segmentation_keeps_empty_segments_and_leaves_no_temporary_nodes(scene, oblique_ijk_to_ras):
    labels = np.zeros((2, 5, 5), dtype=np.uint8)
    labels[0, 1:3, 1:3] = 2
    nodes_before = scene.GetNumberOfNodes()
    segmentation = segmentation_from_labelmap(scene, labels, oblique_ijk_to_ras, ["empty", "square"], "seg")
    assert segmentation.GetSegmentation().GetNumberOfSegments() == 2
    np.testing.assert_array_equal(labelmap_from_segmentation(segmentation, labels.shape, oblique_ijk_to_ras), labels)
    added = {scene.GetNthNode(i).GetClassName() for i in range(nodes_before, scene.GetNumberOfNodes())}
    assert "vtkMRMLLabelMapVolumeNode" not in added and "vtkMRMLScalarVolumeNode" not in added


def test_labels_beyond_segment_names_are_refused(scene, oblique_ijk_to_ras):
    with pytest.raises(ValueError, match="values up to 3"):
        segmentation_from_labelmap(scene, _cardiac_like_labels(), oblique_ijk_to_ras, ["one"], "seg")
