"""KeypointSegLogic on real slicer-core nodes: a segmentation node of the three structures with their terminology,
on the input's geometry and beside it in the subject hierarchy; the cardiac cycle's table; bad input refused; the
scene unchanged on failure or cancel. The network is a small KAF-UNet trained here for 150 steps on the phantom (it
learns the left ventricle, so frames differ in volume): what is tested is geometry and node handling; the shipped
model's accuracy is the benchmark's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from KeypointEngineLib.cardiac.inference import CardiacSegmenter
from KeypointEngineLib.cardiac.network import KAFConfig, KAFUNet
from KeypointEngineLib.errors import InputError
from KeypointEngineLib.jobs import CancelToken, Job, JobCancelled
from KeypointEvaluationLib.cardiac.phantom import short_axis_phantom
from KeypointMRMLLib.segmentations import labelmap_from_segmentation
from KeypointMRMLLib.transforms import linear_transform_from_matrix
from KeypointMRMLLib.volumes import volume_from_array
from KeypointSegLib.logic import KeypointSegLogic


@pytest.fixture(scope="module")
def segmenter():
    import torch.nn.functional as F

    from KeypointEngineLib.cardiac.keypoints import padded_batch, sift_keypoints
    from KeypointEngineLib.cardiac.preprocess import to_slices

    torch.manual_seed(0)
    network = KAFUNet(KAFConfig(base_features=4, attention_depth=1))
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-2)
    batches = []
    for seed, systole in enumerate(np.linspace(0, 1, 6)):
        phantom = short_axis_phantom(slices=4, size=64, systole=systole, seed=seed)
        stack = to_slices(phantom.image, phantom.ijk_to_ras)
        labels = F.interpolate(torch.from_numpy(phantom.labels)[:, None].float(), size=stack.working_shape,
                               mode="nearest-exact")[:, 0].long()
        padded = torch.zeros(len(labels), *stack.images.shape[1:], dtype=torch.long)
        padded[:, :labels.shape[1], :labels.shape[2]] = labels
        batches.append((torch.from_numpy(stack.images)[:, None], padded,
                        padded_batch([sift_keypoints(image, 32) for image in stack.images])))
    for step in range(150):
        images, labels, keypoints = batches[step % len(batches)]
        loss = F.cross_entropy(network(images, *keypoints)["logits"], labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return CardiacSegmenter(network=network, device="cpu")


@pytest.fixture
def logic(segmenter):
    return KeypointSegLogic({("kaf-unet", None): segmenter})


@pytest.fixture(scope="module")
def phantom():
    return short_axis_phantom(slices=6, size=96)


def _node_count(scene) -> int:
    return scene.GetNumberOfNodes()


def test_segment_makes_the_three_structures_on_the_inputs_own_grid(scene, logic, segmenter, phantom,
                                                                   oblique_ijk_to_ras):
    volume = volume_from_array(scene, phantom.image, oblique_ijk_to_ras, "cine ED")
    parent = linear_transform_from_matrix(scene, np.eye(4), "placement")
    volume.SetAndObserveTransformNodeID(parent.GetID())
    result = logic.segment(volume, createKeypoints=True)
    node = result.segmentationNode
    assert node.GetName() == "cine ED segmentation" and node.GetTransformNodeID() == parent.GetID()
    segmentation = node.GetSegmentation()
    names = [segmentation.GetNthSegment(index).GetName() for index in range(segmentation.GetNumberOfSegments())]
    assert names == ["Right ventricle cavity", "Left ventricle myocardium", "Left ventricle cavity"]
    terminology = segmentation.GetNthSegment(2).GetTerminology()
    assert "SCT^87878005^Left ventricle" in terminology and "SCT^123037004^Anatomical Structure" in terminology
    assert "SCT^74281007^Myocardium" in segmentation.GetNthSegment(1).GetTerminology()
    expected = segmenter.segment(phantom.image, oblique_ijk_to_ras).labels  # the engine's labels, voxel for voxel
    exported = labelmap_from_segmentation(node, phantom.image.shape, oblique_ijk_to_ras)
    np.testing.assert_array_equal(exported, expected)
    assert set(result.volumesMl) == set(names)
    assert result.tableNode.GetNumberOfRows() == 3
    assert result.tableNode.GetCellText(2, 0) == "Left ventricle cavity (mL)"
    assert result.keypointsNode.GetTransformNodeID() == parent.GetID()


def test_keypoints_lie_where_sift_found_them_on_the_input_slices(scene, logic, segmenter, phantom):
    """Working-grid SIFT points mapped by hand to the input's voxels and RAS, under a non-identity parent."""
    from scipy.spatial.transform import Rotation

    from KeypointEngineLib.cardiac.keypoints import sift_keypoints
    from KeypointEngineLib.cardiac.preprocess import to_slices
    from KeypointMRMLLib.markups import points_from_fiducials

    ijk_to_ras = np.eye(4)
    ijk_to_ras[:3, :3] = Rotation.from_rotvec([0.2, 0.5, -0.3]).as_matrix() @ np.diag([0.9, 1.6, 7.0])
    ijk_to_ras[:3, 3] = [5.0, -60.0, 12.0]
    volume = volume_from_array(scene, phantom.image, ijk_to_ras, "cine")
    shift = np.eye(4)
    shift[:3, 3] = [30.0, 0.0, -10.0]
    volume.SetAndObserveTransformNodeID(linear_transform_from_matrix(scene, shift, "placement").GetID())
    result = logic.segment(volume, createKeypoints=True)
    stack = to_slices(phantom.image, ijk_to_ras)
    height, width = stack.working_shape
    first = sift_keypoints(stack.images[0][:height, :width], 128 * height * width // 128 ** 2)
    scale = np.array([0.9, 1.6]) / 1.25  # working px per input px along i, j
    ijk = np.column_stack([(first + 0.5) / scale - 0.5, np.zeros(len(first))])  # slice 0: k = 0
    expected = ijk @ ijk_to_ras[:3, :3].T + ijk_to_ras[:3, 3]
    placed = points_from_fiducials(result.keypointsNode)  # in the volume's own RAS, under the same parent
    np.testing.assert_allclose(placed[:len(first)], expected, atol=1e-3)


def test_results_are_placed_beside_the_input_in_the_subject_hierarchy(scene, logic, phantom):
    import slicer

    volume = volume_from_array(scene, phantom.image, phantom.ijk_to_ras, "cine")
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    study = hierarchy.CreateStudyItem(hierarchy.CreateSubjectItem(hierarchy.GetSceneItemID(), "patient"), "study")
    hierarchy.CreateItem(study, volume)  # as the DICOM browser or Data module would have placed it
    result = logic.segment(volume)
    assert hierarchy.GetItemParent(hierarchy.GetItemByDataNode(result.segmentationNode)) == study


def test_a_cardiac_cycle_gives_the_function_in_a_table(scene, logic):
    nodes = []
    for phase in (0.0, 1.0):
        frame = short_axis_phantom(slices=6, size=96, systole=phase)
        nodes.append(volume_from_array(scene, frame.image, frame.ijk_to_ras, f"frame {phase:g}"))
    cycle = logic.segmentCycle(*nodes)
    table = cycle.tableNode
    assert table.IsA("vtkMRMLTableNode") and table.GetNumberOfRows() == len(cycle.function) + 6
    assert table.GetCellText(0, 0) == "LV end-diastolic volume (mL)"
    assert float(table.GetCellText(0, 1)) == pytest.approx(cycle.function["LV end-diastolic volume (mL)"], abs=1e-3)
    assert cycle.function["LV end-diastolic volume (mL)"] == pytest.approx(
        cycle.endDiastole.volumesMl["Left ventricle cavity"])
    reused = logic.segmentCycle(*nodes, tableNode=table)
    assert reused.tableNode is table  # the user's table is filled, not a new one


@pytest.mark.parametrize("case", ["label map", "vector", "single slice", "nan", "nonlinear parent", "same frames",
                                  "not a table", "constant"])
def test_bad_input_is_refused_with_advice_and_nothing_is_added(scene, logic, phantom, case):
    image = phantom.image
    if case == "vector":
        volume = volume_from_array(scene, np.stack([image] * 3, axis=-1), phantom.ijk_to_ras, "rgb")
    elif case == "single slice":
        volume = volume_from_array(scene, image[:1], phantom.ijk_to_ras, "slice")
    elif case == "constant":
        volume = volume_from_array(scene, np.full_like(image, 300), phantom.ijk_to_ras, "blank")
    elif case == "nan":
        broken = image.astype(np.float32)
        broken[2, 10, 10] = np.nan
        volume = volume_from_array(scene, broken, phantom.ijk_to_ras, "broken")
    else:
        volume = volume_from_array(scene, image, phantom.ijk_to_ras, "cine", labelmap=case == "label map")
    if case == "nonlinear parent":
        grid = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "warp")
        volume.SetAndObserveTransformNodeID(grid.GetID())
    second = volume_from_array(scene, image, phantom.ijk_to_ras, "ES")
    before = _node_count(scene)
    with pytest.raises(InputError) as raised:
        if case == "same frames":
            logic.segmentCycle(volume, volume)
        elif case == "not a table":
            logic.segmentCycle(volume, second, tableNode=volume)
        else:
            logic.segment(volume)
    assert len(str(raised.value)) > 20
    assert _node_count(scene) == before


def test_a_cancelled_cycle_leaves_the_scene_as_it_was(scene, logic, phantom):
    nodes = [volume_from_array(scene, phantom.image, phantom.ijk_to_ras, name) for name in ("ED", "ES")]
    before = _node_count(scene)
    token = CancelToken()

    def progress(stage, fraction):
        if fraction > 0.6:  # during the second frame
            token.cancel()

    with pytest.raises(JobCancelled):
        logic.segmentCycle(*nodes, job=Job(progress, token))
    assert _node_count(scene) == before


def test_a_frame_deleted_during_the_run_leaves_nothing_behind(scene, logic, phantom):
    """The user removes the end-systolic frame while the network runs: applying fails after the end-diastolic
    frame's nodes were made, and they are removed again."""
    nodes = [volume_from_array(scene, phantom.image, phantom.ijk_to_ras, name) for name in ("ED", "ES")]
    task = logic.cycleTask(*nodes)
    worked = task.work(task.prepare(), Job())
    scene.RemoveNode(nodes[1])
    before = _node_count(scene)
    with pytest.raises(AttributeError):
        task.apply(worked)
    assert _node_count(scene) == before


def test_the_segmentation_saves_as_a_file_slicer_reloads(scene, logic, phantom, tmp_path):
    from KeypointMRMLLib.storage import load_node, save_node

    volume = volume_from_array(scene, phantom.image, phantom.ijk_to_ras, "cine")
    result = logic.segment(volume)
    path = save_node(result.segmentationNode, tmp_path / "cine.seg.nrrd")
    reloaded = load_node(scene, path, "vtkMRMLSegmentationNode")
    segmentation = reloaded.GetSegmentation()
    assert segmentation.GetNumberOfSegments() == 3
    assert segmentation.GetNthSegment(0).GetName() == "Right ventricle cavity"
    assert "53085002" in segmentation.GetNthSegment(0).GetTerminology()


def test_a_cine_is_segmented_at_its_chosen_frames_or_at_the_smallest_cavity(scene, logic, segmenter):
    from KeypointSegLib.cine import sequence_from_frames

    phantoms = [short_axis_phantom(slices=4, size=64, systole=phase) for phase in (0.0, 0.5, 1.0, 0.5)]
    cine = sequence_from_frames(scene, [(p.image, p.ijk_to_ras) for p in phantoms], "cine")
    chosen = logic.segmentCine(cine, 0, 2)
    assert chosen.frames == (0, 2) and chosen.endSystole.segmentationNode.GetName() == "cine ES (frame 2) segmentation"
    automatic = logic.segmentCine(cine)
    cavities = {index: segmenter.segment(p.image, p.ijk_to_ras).volumes_ml["Left ventricle cavity"]
                for index, p in enumerate(phantoms)}
    assert len(set(cavities.values())) > 1  # else any choice would pass
    ed = max(cavities, key=cavities.get)
    assert automatic.frames == (ed, min((i for i in cavities if i != ed), key=cavities.get))
    with pytest.raises(InputError, match="frames"):
        logic.segmentCine(cine, 0, 7)
