"""A scene saved as .mrml plus data files reloads with every node, file and geometry intact."""

from __future__ import annotations

import gc

import numpy as np

from KeypointMRMLLib.markups import fiducials_from_points, points_from_fiducials
from KeypointMRMLLib.scene import make_scene, remove_node
from KeypointMRMLLib.storage import load_scene, save_scene
from KeypointMRMLLib.transforms import linear_transform_from_matrix, matrix_from_linear_transform
from KeypointMRMLLib.volumes import array_from_volume, volume_from_array


def test_scene_has_slicer_singletons_and_default_colors(scene):
    assert scene.GetFirstNodeByClass("vtkMRMLSelectionNode") is not None
    assert scene.GetFirstNodeByClass("vtkMRMLInteractionNode") is not None
    assert scene.GetFirstNodeByName("Grey") is not None


def test_saved_scene_reloads_every_node_and_file(oblique_ijk_to_ras, tmp_path):
    scene = make_scene()
    gc.collect()  # the module logics must outlive the Python variables of make_scene
    voxels = np.random.default_rng(3).normal(size=(3, 4, 5)).astype(np.float32)
    rgb = np.random.default_rng(4).integers(0, 255, (1, 4, 5, 3), dtype=np.uint8)
    volume_from_array(scene, voxels, oblique_ijk_to_ras, "ct")
    volume_from_array(scene, rgb, np.diag([-1.0, -1.0, 1.0, 1.0]), "fundus")
    fiducials_from_points(scene, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "keypoints")
    linear_transform_from_matrix(scene, oblique_ijk_to_ras, "registration")

    mrml = save_scene(scene, tmp_path / "case", "case")
    assert sorted(p.name for p in mrml.parent.iterdir()) == sorted(
        ["case.mrml", "ct.nrrd", "fundus.nrrd", "keypoints.mrk.json", "registration.h5"])

    reloaded = load_scene(mrml)
    np.testing.assert_array_equal(array_from_volume(reloaded.GetFirstNodeByName("ct")).array, voxels)
    np.testing.assert_allclose(array_from_volume(reloaded.GetFirstNodeByName("ct")).ijk_to_ras, oblique_ijk_to_ras,
                               atol=1e-6)
    assert reloaded.GetFirstNodeByName("fundus").IsA("vtkMRMLVectorVolumeNode")
    np.testing.assert_array_equal(array_from_volume(reloaded.GetFirstNodeByName("fundus")).array, rgb)
    np.testing.assert_allclose(points_from_fiducials(reloaded.GetFirstNodeByName("keypoints")),
                               [[1, 2, 3], [4, 5, 6]], atol=1e-6)
    np.testing.assert_allclose(matrix_from_linear_transform(reloaded.GetFirstNodeByName("registration")),
                               oblique_ijk_to_ras, atol=1e-6)


def test_remove_node_takes_its_display_and_storage_nodes(scene, oblique_ijk_to_ras):
    before = scene.GetNumberOfNodes()
    node = volume_from_array(scene, np.zeros((2, 2, 2), np.uint8), oblique_ijk_to_ras, "temporary")
    node.AddDefaultStorageNode()
    remove_node(node)
    assert scene.GetNumberOfNodes() == before
