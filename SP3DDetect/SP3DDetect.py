"""SP3DDetect: learned 3D keypoints (SP3D) in CT and MRI volumes as markups fiducials, and two volumes matched by
their keypoints into a transform node.

GUI layer only: the work is done by SP3DDetectLogic (SP3DDetectLib/logic.py), which runs without the GUI and is
re-exported here so console users find it where Slicer users expect it:

    from SP3DDetect import SP3DDetectLogic
    keypoints = SP3DDetectLogic().detect(volumeNode)
    match = SP3DDetectLogic().match(fixedNode, movingNode)
"""

import logging
from typing import Annotated, Union

import slicer
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleTest

from KeypointEngineLib.compatibility import unsupported_slicer_message
from KeypointEngineLib.volume.parameters import (
    FEATURE_BACKENDS,
    MATCH_MODELS,
    MAX_KEYPOINTS,
    NMS_MM,
    SPACING_MM,
    THRESHOLD,
)
from KeypointGUILib.panel import KeypointPanel
from SP3DDetectLib.logic import SP3DDetectLogic

__all__ = ["SP3DDetect", "SP3DDetectLogic", "SP3DDetectParameterNode", "SP3DDetectWidget"]


class SP3DDetect(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "SP3DDetect"
        self.parent.categories = ["Registration.Keypoints"]
        self.parent.dependencies = ["KeypointEngine"]
        self.parent.contributors = ["SlicerKeypoints developers"]
        self.parent.helpText = (
            "Detects 3D keypoints in a CT or MRI volume as markups fiducials (a classical Hessian detector by default, "
            "or the learned SP3D network), and matches a second volume to the first by their descriptors into a "
            "linear transform node (rigid by default). See the SlicerKeypoints README for the benchmark and the "
            "Python and batch API."
        )
        self.parent.acknowledgementText = (
            "Method after Loiseau-Witon et al., SP3D: learning keypoint detection and description in 3D medical "
            "images (CREATIS). Part of SlicerKeypoints (Apache-2.0)."
        )
        unsupported = unsupported_slicer_message("SP3DDetect", (slicer.app.majorVersion, slicer.app.minorVersion))
        if unsupported:
            logging.error(unsupported)
            self.parent.helpText = unsupported


@parameterNodeWrapper
class SP3DDetectParameterNode:
    inputVolume: slicer.vtkMRMLScalarVolumeNode
    maskNode: Union[slicer.vtkMRMLSegmentationNode, slicer.vtkMRMLLabelMapVolumeNode]  # noqa: UP007
    secondVolume: slicer.vtkMRMLScalarVolumeNode
    maxKeypoints: Annotated[int, WithinRange(MAX_KEYPOINTS.minimum, MAX_KEYPOINTS.maximum)] = int(
        MAX_KEYPOINTS.default)
    matchModel: Annotated[str, Choice(list(MATCH_MODELS))] = MATCH_MODELS[0]
    features: Annotated[str, Choice(list(FEATURE_BACKENDS))] = FEATURE_BACKENDS[0]
    threshold: Annotated[float, WithinRange(THRESHOLD.minimum, THRESHOLD.maximum)] = THRESHOLD.default
    nmsRadiusMm: Annotated[float, WithinRange(NMS_MM.minimum, NMS_MM.maximum)] = NMS_MM.default
    workingSpacingMm: Annotated[float, WithinRange(SPACING_MM.minimum, SPACING_MM.maximum)] = SPACING_MM.default
    useGpu: bool = True
    outputTransform: slicer.vtkMRMLLinearTransformNode


class SP3DDetectWidget(KeypointPanel):
    """The panel: KeypointGUILib.panel.KeypointPanel does the mechanics; this says what SP3DDetect runs and shows."""

    parameterNodeClass = SP3DDetectParameterNode
    sections = ("inputsCollapsibleButton", "parametersCollapsibleButton", "advancedCollapsibleButton",
                "outputsCollapsibleButton")

    def createLogic(self):
        return SP3DDetectLogic()

    def applyButtonState(self, parameters, running):
        from SP3DDetectLib.presentation import applyButton

        return applyButton(parameters.inputVolume if parameters else None,
                           parameters.secondVolume if parameters else None, running)

    def createTask(self, parameters):
        device = None if parameters.useGpu else "cpu"
        if parameters.secondVolume is not None:
            return self.logic.matchTask(
                parameters.inputVolume, parameters.secondVolume, model=parameters.matchModel,
                maxKeypoints=parameters.maxKeypoints, workingSpacingMm=parameters.workingSpacingMm,
                threshold=parameters.threshold, device=device, outputTransform=parameters.outputTransform,
                features=parameters.features)
        return self.logic.detectionTask(
            parameters.inputVolume, maxKeypoints=parameters.maxKeypoints, threshold=parameters.threshold,
            nmsRadiusMm=parameters.nmsRadiusMm, workingSpacingMm=parameters.workingSpacingMm,
            maskNode=parameters.maskNode, device=device, features=parameters.features)

    def outcomeOf(self, result):
        from SP3DDetectLib.presentation import detectOutcome, matchOutcome

        return matchOutcome(result) if hasattr(result, "transformNode") else detectOutcome(result)

    def errorOutcomeOf(self, error):
        from SP3DDetectLib.presentation import errorOutcome

        return errorOutcome(error)

    def showResult(self, result, parameters):
        """Keypoints are shown by their own display node; a match puts the second volume under the new transform
        over the first."""
        if hasattr(result, "transformNode"):
            parameters.secondVolume.SetAndObserveTransformNodeID(result.transformNode.GetID())
            slicer.util.setSliceViewerLayers(background=parameters.inputVolume,
                                             foreground=parameters.secondVolume, foregroundOpacity=0.5, fit=True)


class SP3DDetectTest(ScriptedLoadableModuleTest):
    """Inside Slicer (Reload and Test, or ctest): keypoints of a volume made at run time, and its repositioned copy
    matched back; skipped with a message where the engine's packages or the shipped model are missing."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_repositioned_copy_matches_back()

    def test_repositioned_copy_matches_back(self):
        from KeypointEngine import skippedForMissingRequirements

        if skippedForMissingRequirements(self, "SP3DDetect self-test"):
            return
        import numpy as np
        from scipy import ndimage

        from KeypointEngineLib.registry import default_registry
        from KeypointMRMLLib.volumes import volume_from_array

        if "sp3d" not in {card.name for card in default_registry().cards()}:
            self.delayDisplay("SP3DDetect self-test skipped: the SP3D model is not installed yet.")
            return
        volume = ndimage.gaussian_filter(np.random.default_rng(0).random((48, 80, 80)), 2.0) * 1000
        motion = np.eye(4)
        motion[:3, 3] = [12.0, -8.0, 4.0]
        fixed = volume_from_array(slicer.mrmlScene, volume.astype(np.int16), np.eye(4), "fixed")
        moving = volume_from_array(slicer.mrmlScene, volume.astype(np.int16), motion, "moving")
        result = SP3DDetectLogic().match(fixed, moving)
        self.assertTrue(result.report.success, result.report.summary())
        np.testing.assert_allclose(result.registration.model.forward[:3, 3], motion[:3, 3], atol=2.0)
        self.delayDisplay(result.report.summary())
