"""SP3DDetectLogic on real slicer-core nodes: keypoints as markups, volumes matched into a transform node, bad input
refused, the scene unchanged on failure or cancel. The network here has fixed random weights: what is tested is
geometry and node handling, which hold whatever the weights (the shipped model's accuracy is the benchmark's)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage
from scipy.spatial.transform import Rotation

from KeypointEngineLib.jobs import CancelToken, Job, JobCancelled
from KeypointEngineLib.volume.extract import SP3DExtractor
from KeypointEngineLib.volume.network import SP3DNet
from KeypointMRMLLib.markups import points_from_fiducials
from KeypointMRMLLib.transforms import TO_PARENT, linear_transform_from_matrix, transform_points
from KeypointMRMLLib.volumes import volume_from_array
from SP3DDetectLib.logic import SP3DDetectLogic


@pytest.fixture(scope="module")
def logic():
    torch.manual_seed(0)
    return SP3DDetectLogic(SP3DExtractor(device="cpu", network=SP3DNet()))


@pytest.fixture(scope="module")
def anatomy():
    """A smooth, structured volume (head-sized blobs of several intensities) that a detector has something in."""
    rng = np.random.default_rng(0)
    volume = ndimage.gaussian_filter(rng.random((40, 64, 64)), 2.0)
    return ((volume - volume.min()) / np.ptp(volume) * 1000).astype(np.int16)


def test_detect_makes_labelled_keypoints_with_scores_under_the_volumes_parent(scene, logic, anatomy,
                                                                              oblique_ijk_to_ras):
    volume = volume_from_array(scene, anatomy, oblique_ijk_to_ras, "head")
    parent = linear_transform_from_matrix(scene, np.eye(4), "placement")
    volume.SetAndObserveTransformNodeID(parent.GetID())
    result = logic.detect(volume, maxKeypoints=50, threshold=0.0)
    node = result.keypointsNode
    assert node.GetName() == "head keypoints" and 0 < node.GetNumberOfControlPoints() <= 50
    assert node.GetNthControlPointLabel(0) == "K0001" and node.GetNthControlPointDescription(0).startswith("score ")
    assert node.GetTransformNodeID() == parent.GetID()
    np.testing.assert_allclose(points_from_fiducials(node), result.features.keypoints, atol=1e-6)


def test_a_volume_and_its_repositioned_copy_match_into_the_motion(scene, logic, anatomy, oblique_ijk_to_ras):
    """The same scan under a known rigid motion of its geometry: the transform found must be that motion."""
    motion = np.eye(4)
    motion[:3, :3] = Rotation.from_euler("xyz", [25, -40, 70], degrees=True).as_matrix()
    motion[:3, 3] = [30.0, -12.0, 8.0]
    fixed = volume_from_array(scene, anatomy, oblique_ijk_to_ras, "fixed")
    moving = volume_from_array(scene, anatomy, motion @ oblique_ijk_to_ras, "moving")
    result = logic.match(fixed, moving, maxKeypoints=200, threshold=0.0)
    assert result.report.success and result.report.units == "mm", result.report.summary()
    points = np.array([[0.0, 0.0, 0.0], [40.0, -20.0, 10.0]])  # fixed RAS -> where they are in the moving volume
    np.testing.assert_allclose(result.registration.model.fixed_to_moving(points), points @ motion[:3, :3].T
                               + motion[:3, 3], atol=0.5)
    aligned = transform_points(result.transformNode, points @ motion[:3, :3].T + motion[:3, 3], TO_PARENT)
    np.testing.assert_allclose(aligned, points, atol=0.5)  # the node maps moving onto fixed
    fixed_points, moving_points = result.fiducialNodes
    assert fixed_points.GetNumberOfControlPoints() == moving_points.GetNumberOfControlPoints() == result.report.inliers
    assert fixed_points.GetNthControlPointLabel(0) == moving_points.GetNthControlPointLabel(0) == "M0001"
    assert moving_points.GetTransformNodeID() == result.transformNode.GetID()


def test_unrelated_volumes_fail_or_are_not_confident_and_add_nothing_on_failure(scene, logic, anatomy):
    other = ndimage.gaussian_filter(np.random.default_rng(5).random((40, 64, 64)), 2.0) * 1000
    fixed = volume_from_array(scene, anatomy, np.eye(4), "a")
    moving = volume_from_array(scene, other.astype(np.int16), np.eye(4), "b")
    before = scene.GetNumberOfNodes()
    result = logic.match(fixed, moving, maxKeypoints=200, threshold=0.0)
    assert not result.report.confident
    if not result.report.success:
        assert result.transformNode is None and scene.GetNumberOfNodes() == before


@pytest.mark.parametrize("make, message", [
    (lambda scene: volume_from_array(scene, np.zeros((1, 20, 20, 3), np.uint8), np.eye(4), "rgb"),
     "give a scalar CT or MRI volume"),
    (lambda scene: volume_from_array(scene, np.zeros((8, 8, 8), np.int16), np.eye(4), "seg", labelmap=True),
     "give a scalar CT or MRI volume"),
    (lambda scene: volume_from_array(scene, np.full((8, 8, 8), 3, np.int16), np.eye(4), "flat"), "constant"),
    (lambda scene: volume_from_array(scene, (np.zeros((1, 30, 30)) + np.arange(30)).astype(np.int16), np.eye(4),
                                    "slice"),
     "only 1 slice"),
])
def test_volumes_that_cannot_be_used_are_refused_and_nothing_is_added(scene, logic, make, message):
    volume = make(scene)
    before = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match=message):
        logic.detect(volume)
    assert scene.GetNumberOfNodes() == before


def test_options_out_of_range_and_wrong_outputs_are_refused_before_any_work(scene, logic, anatomy):
    volume = volume_from_array(scene, anatomy, np.eye(4), "v")
    with pytest.raises(ValueError, match="maximum number of keypoints must lie between"):
        logic.detectionTask(volume, maxKeypoints=0)
    with pytest.raises(ValueError, match="working spacing must lie between"):
        logic.detectionTask(volume, workingSpacingMm=0.1)
    grid = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "g")
    with pytest.raises(ValueError, match="not a linear transform"):
        logic.matchTask(volume, volume, outputTransform=grid)
    with pytest.raises(ValueError, match="Unknown transform model 'projective'"):
        logic.matchTask(volume, volume, model="projective")
    with pytest.raises(ValueError, match="two different volumes"):
        logic.match(volume, volume)


def test_a_mask_of_other_geometry_limits_the_keypoints(scene, logic, anatomy):
    volume = volume_from_array(scene, anatomy, np.diag([1.5, 1.5, 2.0, 1.0]), "v")
    mask = np.zeros((20, 48, 48), np.uint8)  # coarser grid, covering only the first half in i
    mask[:, :, :24] = 1
    labelmap = volume_from_array(scene, mask, np.diag([2.0, 2.0, 4.0, 1.0]), "left half", labelmap=True)
    before = scene.GetNumberOfNodes()
    features = logic.detectionTask(volume, maxKeypoints=100, threshold=0.0, maskNode=labelmap).work(
        logic.detectionTask(volume, maskNode=labelmap).prepare(), Job())
    assert scene.GetNumberOfNodes() == before  # the temporary segmentation is gone
    assert len(features) > 0 and features.keypoints[:, 0].max() <= 48.0  # x < 24 voxels * 2 mm


def test_a_cancelled_detection_adds_nothing(scene, logic, anatomy):
    volume = volume_from_array(scene, anatomy, np.eye(4), "v")
    before, token = scene.GetNumberOfNodes(), CancelToken()

    def cancel_when_detecting(stage, fraction):
        if stage == "Detecting keypoints":
            token.cancel()

    with pytest.raises(JobCancelled):
        logic.detect(volume, job=Job(progress=cancel_when_detecting, cancel_token=token))
    assert scene.GetNumberOfNodes() == before


def test_thick_or_few_slices_are_warned_about_in_the_result_and_the_panel(scene, logic, anatomy):
    from SP3DDetectLib.presentation import detectOutcome

    thick = volume_from_array(scene, anatomy, np.diag([1.0, 1.0, 5.0, 1.0]), "thick")  # 40 slices 5 mm apart
    result = logic.detect(thick, maxKeypoints=20, threshold=0.0)
    assert len(result.warnings) == 1 and "5 mm along one axis, more than twice the 2 mm" in result.warnings[0]
    assert result.warnings[0] in detectOutcome(result).status
    few = volume_from_array(scene, anatomy[:12], np.eye(4), "few")  # 12 slices of 1 mm
    assert any("covers only 12 mm (12 slices)" in text for text in logic.detect(few, threshold=0.0).warnings)
    assert logic.detect(volume_from_array(scene, anatomy, np.diag([2.0, 2.0, 2.0, 1.0]), "fine"),
                        threshold=0.0).warnings == []


def test_nan_voxels_a_non_linear_parent_and_an_empty_mask_are_refused_and_nothing_is_added(scene, logic, anatomy):
    nan = anatomy.astype(np.float32)
    nan[3, 4, 5] = np.nan
    bent = volume_from_array(scene, anatomy, np.eye(4), "bent")
    grid = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "warp")
    bent.SetAndObserveTransformNodeID(grid.GetID())
    volume, with_nan = (volume_from_array(scene, anatomy, np.eye(4), "v"),
                        volume_from_array(scene, nan, np.eye(4), "nan"))
    empty = volume_from_array(scene, np.zeros((10, 16, 16), np.uint8), np.eye(4), "empty mask", labelmap=True)
    cases = [(lambda: logic.detect(with_nan), "1 voxels that are not numbers"),
             (lambda: logic.detect(bent), "non-linear transform 'warp': harden it first"),
             (lambda: logic.detect(volume, maskNode=empty), "The mask is empty")]
    for run, message in cases:
        before = scene.GetNumberOfNodes()
        with pytest.raises(ValueError, match=message):
            run()
        assert scene.GetNumberOfNodes() == before


def test_the_classical_backend_is_chosen_by_name_and_an_unknown_one_refused(scene, anatomy):
    volume = volume_from_array(scene, anatomy, np.diag([2.0, 2.0, 2.0, 1.0]), "v")
    result = SP3DDetectLogic().detect(volume, maxKeypoints=40, features="hessian")
    assert 0 < len(result.features) <= 40 and result.features.descriptors.shape[1] == 15
    before = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match="Unknown keypoint backend 'sift': use one of hessian, sp3d"):
        SP3DDetectLogic().detect(volume, features="sift")
    assert scene.GetNumberOfNodes() == before
