"""KeypointSegLogic on real slicer-core nodes: a segmentation node of the three structures with their terminology,
on the input's geometry and beside it in the subject hierarchy; the cardiac cycle's table; bad input refused; the
scene unchanged on failure or cancel. The network has fixed random weights: what is tested is geometry and node
handling, which hold whatever the weights (the shipped model's accuracy is the benchmark's)."""

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
    torch.manual_seed(0)
    return CardiacSegmenter(network=KAFUNet(KAFConfig(base_features=4, attention_depth=1)), device="cpu")


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
    assert result.keypointsNode.GetNumberOfControlPoints() > 0
    assert result.keypointsNode.GetTransformNodeID() == parent.GetID()


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
                                  "not a table"])
def test_bad_input_is_refused_with_advice_and_nothing_is_added(scene, logic, phantom, case):
    image = phantom.image
    if case == "vector":
        volume = volume_from_array(scene, np.stack([image] * 3, axis=-1), phantom.ijk_to_ras, "rgb")
    elif case == "single slice":
        volume = volume_from_array(scene, image[:1], phantom.ijk_to_ras, "slice")
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
                for index, p in enumerate(phantoms) if index}
    assert automatic.frames[0] == 0 and automatic.frames[1] == min(cavities, key=cavities.get)
    with pytest.raises(InputError, match="frames"):
        logic.segmentCine(cine, 0, 7)
