"""KeypointAlign: register retinal image pairs (also across modalities) with keypoints into transform nodes.

GUI layer only: the work is done by KeypointAlignLogic (KeypointAlignLib/logic.py), which runs without the GUI and
is re-exported here so console users find it where Slicer users expect it:

    from KeypointAlign import KeypointAlignLogic
    result = KeypointAlignLogic().register(fixedNode, movingNode, model="auto")
"""

import logging
from typing import Annotated, Union

import slicer
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleTest

from KeypointAlignLib.logic import KeypointAlignLogic
from KeypointEngineLib.compatibility import unsupported_slicer_message
from KeypointEngineLib.retina.parameters import (
    FEATURE_BACKENDS,
    FIELD_OF_VIEW,
    RATIO_TEST,
    TRANSFORM_MODELS,
    UNKNOWN_FIELD_OF_VIEW,
    WORKING_SIZE,
    known_field_of_view,
)
from KeypointGUILib.panel import KeypointPanel

__all__ = ["KeypointAlign", "KeypointAlignLogic", "KeypointAlignParameterNode", "KeypointAlignWidget"]


class KeypointAlign(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "KeypointAlign"
        self.parent.categories = ["Registration.Keypoints"]
        self.parent.dependencies = ["KeypointEngine"]
        self.parent.contributors = ["SlicerKeypoints developers"]
        self.parent.helpText = (
            "Aligns a moving retinal image onto a fixed one with keypoints, matching and robust model fitting "
            "(similarity, affine, projective or quadratic). The result is a transform node; apply it to the moving "
            "image to align it. See the SlicerKeypoints README for the Python and batch API."
        )
        self.parent.acknowledgementText = (
            "Method after Rivas-Villar et al., QIMS 2023 (joint keypoint detection and description for colour fundus "
            "registration) and Retinal IPA (arXiv 2407.18362). Part of SlicerKeypoints (Apache-2.0)."
        )
        unsupported = unsupported_slicer_message("KeypointAlign", (slicer.app.majorVersion, slicer.app.minorVersion))
        if unsupported:
            logging.error(unsupported)
            self.parent.helpText = unsupported


FIELD_RANGE = WithinRange(UNKNOWN_FIELD_OF_VIEW, FIELD_OF_VIEW.maximum)


@parameterNodeWrapper
class KeypointAlignParameterNode:
    # the GUI connector sets the selectors' nodeTypes from these annotations: colour photographs are vector volumes
    fixedVolume: Union[slicer.vtkMRMLScalarVolumeNode, slicer.vtkMRMLVectorVolumeNode]  # noqa: UP007 (typing.Union, as the wrapper reads it)
    movingVolume: Union[slicer.vtkMRMLScalarVolumeNode, slicer.vtkMRMLVectorVolumeNode]  # noqa: UP007
    model: Annotated[str, Choice(list(TRANSFORM_MODELS))] = TRANSFORM_MODELS[0]
    features: Annotated[str, Choice(list(FEATURE_BACKENDS))] = FEATURE_BACKENDS[0]
    # degrees, or UNKNOWN_FIELD_OF_VIEW (the spin boxes' "unknown"): the registration then searches the scale
    fixedFieldOfViewDegrees: Annotated[float, FIELD_RANGE] = UNKNOWN_FIELD_OF_VIEW
    movingFieldOfViewDegrees: Annotated[float, FIELD_RANGE] = UNKNOWN_FIELD_OF_VIEW
    workingSize: Annotated[int, WithinRange(WORKING_SIZE.minimum, WORKING_SIZE.maximum)] = int(WORKING_SIZE.default)
    ratioTest: Annotated[float, WithinRange(RATIO_TEST.minimum, RATIO_TEST.maximum)] = RATIO_TEST.default
    useGpu: bool = True
    outputTransform: Union[slicer.vtkMRMLLinearTransformNode, slicer.vtkMRMLGridTransformNode]  # noqa: UP007
    createInlierFiducials: bool = True
    createResampledVolume: bool = False


class KeypointAlignWidget(KeypointPanel):
    """The panel: KeypointGUILib.panel.KeypointPanel does the mechanics; this says what KeypointAlign runs and shows."""

    parameterNodeClass = KeypointAlignParameterNode
    sections = ("inputsCollapsibleButton", "parametersCollapsibleButton", "advancedCollapsibleButton",
                "outputsCollapsibleButton")

    def createLogic(self):
        return KeypointAlignLogic()

    def applyButtonState(self, parameters, running):
        from KeypointAlignLib.presentation import applyButton

        return applyButton(parameters.fixedVolume if parameters else None,
                           parameters.movingVolume if parameters else None, running)

    def createTask(self, parameters):
        return self.logic.registrationTask(
            parameters.fixedVolume, parameters.movingVolume, model=parameters.model, features=parameters.features,
            fixedFieldOfViewDegrees=known_field_of_view(parameters.fixedFieldOfViewDegrees),
            movingFieldOfViewDegrees=known_field_of_view(parameters.movingFieldOfViewDegrees),
            workingSize=parameters.workingSize, ratioTest=parameters.ratioTest,
            device=None if parameters.useGpu else "cpu", outputTransform=parameters.outputTransform,
            createInlierFiducials=parameters.createInlierFiducials,
            createResampledVolume=parameters.createResampledVolume)

    def outcomeOf(self, result):
        from KeypointAlignLib.presentation import resultOutcome

        return resultOutcome(result)

    def errorOutcomeOf(self, error):
        from KeypointAlignLib.presentation import errorOutcome

        return errorOutcome(error)

    def showResult(self, result, parameters):
        """The moving image under the new transform over the fixed one (the output choice stays as it was: a next
        run makes new nodes again)."""
        parameters.movingVolume.SetAndObserveTransformNodeID(result.transformNode.GetID())
        slicer.util.setSliceViewerLayers(background=parameters.fixedVolume, foreground=parameters.movingVolume,
                                         foregroundOpacity=0.5, fit=True)


class KeypointAlignTest(ScriptedLoadableModuleTest):
    """Registers a pair made from a real fundus photograph with a known warp; run with Reload and Test or ctest."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_known_warp_is_recovered()

    def test_known_warp_is_recovered(self):
        from KeypointEngine import skippedForMissingRequirements

        if skippedForMissingRequirements(self, "KeypointAlign self-test"):
            return
        from KeypointAlignLib.samples import add_sample_pair

        fixed, moving, pair = add_sample_pair(slicer.mrmlScene)
        result = KeypointAlignLogic().register(fixed, moving, model="auto")
        self.assertTrue(result.report.success, result.report.summary())
        self.assertLess(pair.mean_error_px(result.registration.model), 2.0, result.report.summary())
        self.delayDisplay(result.report.summary())
