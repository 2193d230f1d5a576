"""KeypointSeg: cardiac short-axis MRI segmented by KAF-UNet (a UNet with keypoint-augmented fusion layers) into a
segmentation node, with volumes, ejection fractions and myocardial mass.

GUI layer only: the work is done by KeypointSegLogic (KeypointSegLib/logic.py), which runs without the GUI and is
re-exported here so console users find it where Slicer users expect it:

    from KeypointSeg import KeypointSegLogic
    result = KeypointSegLogic().segment(volumeNode)
    cycle = KeypointSegLogic().segmentCycle(endDiastoleNode, endSystoleNode)
"""

import logging
from typing import Annotated

import slicer
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleTest

from KeypointEngineLib.cardiac.parameters import BATCH_SLICES, MODELS
from KeypointEngineLib.compatibility import unsupported_slicer_message
from KeypointGUILib.panel import KeypointPanel
from KeypointSegLib.logic import KeypointSegLogic

__all__ = ["KeypointSeg", "KeypointSegLogic", "KeypointSegParameterNode", "KeypointSegWidget"]


class KeypointSeg(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "KeypointSeg"
        self.parent.categories = ["Segmentation.Keypoints"]
        self.parent.dependencies = ["KeypointEngine"]
        self.parent.contributors = ["SlicerKeypoints developers"]
        self.parent.helpText = (
            "Segments the right ventricle cavity, left ventricle myocardium and left ventricle cavity in short-axis "
            "cine MRI with KAF-UNet, and measures their volumes; with an end-diastolic and an end-systolic frame also "
            "the ejection fractions and the myocardial mass, in a table. A quality flag says when a result should not "
            "be trusted. The shipped model was trained on ACDC, whose terms (non-commercial research use) may "
            "restrict the use of its weights. See the SlicerKeypoints README for the benchmark and the Python API."
        )
        self.parent.acknowledgementText = (
            "Method after Yang et al., Keypoint-augmented self-supervised learning for medical image segmentation "
            "with limited annotation (NeurIPS 2023). Trained on ACDC (Bernard et al., IEEE TMI 2018). Part of "
            "SlicerKeypoints (Apache-2.0)."
        )
        unsupported = unsupported_slicer_message("KeypointSeg", (slicer.app.majorVersion, slicer.app.minorVersion))
        if unsupported:
            logging.error(unsupported)
            self.parent.helpText = unsupported


@parameterNodeWrapper
class KeypointSegParameterNode:
    inputVolume: slicer.vtkMRMLScalarVolumeNode
    endSystoleVolume: slicer.vtkMRMLScalarVolumeNode
    wholeCine: bool = False
    model: Annotated[str, Choice(list(MODELS))] = MODELS[0]
    createKeypoints: bool = False
    batchSlices: Annotated[int, WithinRange(BATCH_SLICES.minimum, BATCH_SLICES.maximum)] = int(BATCH_SLICES.default)
    postprocess: bool = True
    useGpu: bool = True
    outputTable: slicer.vtkMRMLTableNode


class KeypointSegWidget(KeypointPanel):
    """The panel: KeypointGUILib.panel.KeypointPanel does the mechanics; this says what KeypointSeg runs and shows."""

    parameterNodeClass = KeypointSegParameterNode
    sections = ("inputsCollapsibleButton", "parametersCollapsibleButton", "advancedCollapsibleButton",
                "outputsCollapsibleButton")

    def createLogic(self):
        return KeypointSegLogic()

    def applyButtonState(self, parameters, running):
        from KeypointSegLib.presentation import applyButton

        return applyButton(parameters.inputVolume if parameters else None,
                           parameters.endSystoleVolume if parameters else None, running)

    def createTask(self, parameters):
        options = dict(batchSlices=parameters.batchSlices, postprocess=parameters.postprocess,
                       createKeypoints=parameters.createKeypoints)
        device = None if parameters.useGpu else "cpu"
        if parameters.wholeCine:
            return self.logic.cineTask(cineOf(parameters.inputVolume), model=parameters.model,
                                       tableNode=parameters.outputTable, device=device, **options)
        if parameters.endSystoleVolume is not None:
            return self.logic.cycleTask(parameters.inputVolume, parameters.endSystoleVolume, parameters.model,
                                        parameters.outputTable, device, **options)
        return self.logic.segmentationTask(parameters.inputVolume, parameters.model, device=device, **options)

    def outcomeOf(self, result):
        from KeypointSegLib.presentation import cycleOutcome, segmentOutcome

        return cycleOutcome(result) if hasattr(result, "tableNode") else segmentOutcome(result)

    def errorOutcomeOf(self, error):
        from KeypointSegLib.presentation import errorOutcome

        return errorOutcome(error)

    def showResult(self, result, parameters):
        """The (end-diastolic) segmentation over its frame, in the slice views and in 3D."""
        first = result.endDiastole if hasattr(result, "endDiastole") else result
        first.segmentationNode.CreateClosedSurfaceRepresentation()
        slicer.util.setSliceViewerLayers(background=parameters.inputVolume, fit=True)
        if hasattr(result, "tableNode"):
            slicer.app.layoutManager().setLayout(slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpTableView)
            slicer.app.applicationLogic().GetSelectionNode().SetActiveTableID(result.tableNode.GetID())
            slicer.app.applicationLogic().PropagateTableSelection()


def cineOf(volumeNode):
    """The sequence (cine) whose frame `volumeNode` shows, through its sequence browser; an InputError otherwise."""
    from KeypointEngineLib.errors import InputError

    browser = slicer.modules.sequences.logic().GetFirstBrowserNodeForProxyNode(volumeNode) if volumeNode else None
    if browser is None:
        raise InputError("The selected volume is not a frame of a loaded cine: load the 4D image as a sequence "
                         "(e.g. a 4D NIfTI), or untick Whole cine.")
    return browser.GetMasterSequenceNode()


class KeypointSegTest(ScriptedLoadableModuleTest):
    """Inside Slicer (Reload and Test, or ctest): a short-axis phantom made at run time is segmented and measured;
    skipped with a message where the engine's packages or the shipped model are missing."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_phantom_is_segmented()

    def test_phantom_is_segmented(self):
        from KeypointEngine import skippedForMissingRequirements

        if skippedForMissingRequirements(self, "KeypointSeg self-test"):
            return
        from KeypointEngineLib.registry import default_registry

        if "kaf-unet" not in {card.name for card in default_registry().cards()}:
            self.delayDisplay("KeypointSeg self-test skipped: the KAF-UNet model is not installed yet.")
            return
        from KeypointEvaluationLib.cardiac.phantom import short_axis_phantom
        from KeypointMRMLLib.volumes import volume_from_array

        phantom = short_axis_phantom()
        volume = volume_from_array(slicer.mrmlScene, phantom.image, phantom.ijk_to_ras, "phantom")
        result = KeypointSegLogic().segment(volume)
        self.assertEqual(result.segmentationNode.GetSegmentation().GetNumberOfSegments(), 3)
        self.assertGreater(result.volumesMl["Left ventricle cavity"], 0.0)
        self.delayDisplay(f"{result.volumesMl}")
