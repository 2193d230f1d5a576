"""KeypointAlign: register retinal image pairs (also across modalities) with keypoints into transform nodes.

GUI layer only: the work is done by KeypointAlignLogic (KeypointAlignLib/logic.py), which runs without the GUI and
is re-exported here so console users find it where Slicer users expect it:

    from KeypointAlign import KeypointAlignLogic
    result = KeypointAlignLogic().register(fixedNode, movingNode, model="auto")
"""

import logging
from typing import Annotated, Union

import slicer
import vtk
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

from KeypointAlignLib.logic import KeypointAlignLogic
from KeypointEngineLib.compatibility import unsupported_slicer_message
from KeypointEngineLib.retina.parameters import (
    FEATURE_BACKENDS,
    FIELD_OF_VIEW,
    RATIO_TEST,
    TRANSFORM_MODELS,
    WORKING_SIZE,
)

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


@parameterNodeWrapper
class KeypointAlignParameterNode:
    # the GUI connector sets the selectors' nodeTypes from these annotations: colour photographs are vector volumes
    fixedVolume: Union[slicer.vtkMRMLScalarVolumeNode, slicer.vtkMRMLVectorVolumeNode]  # noqa: UP007 (typing.Union, as the wrapper reads it)
    movingVolume: Union[slicer.vtkMRMLScalarVolumeNode, slicer.vtkMRMLVectorVolumeNode]  # noqa: UP007
    model: Annotated[str, Choice(list(TRANSFORM_MODELS))] = TRANSFORM_MODELS[0]
    features: Annotated[str, Choice(list(FEATURE_BACKENDS))] = FEATURE_BACKENDS[0]
    fieldOfViewDegrees: Annotated[float, WithinRange(FIELD_OF_VIEW.minimum, FIELD_OF_VIEW.maximum)] = (
        FIELD_OF_VIEW.default)
    workingSize: Annotated[int, WithinRange(WORKING_SIZE.minimum, WORKING_SIZE.maximum)] = int(WORKING_SIZE.default)
    ratioTest: Annotated[float, WithinRange(RATIO_TEST.minimum, RATIO_TEST.maximum)] = RATIO_TEST.default
    useGpu: bool = True
    outputTransform: Union[slicer.vtkMRMLLinearTransformNode, slicer.vtkMRMLGridTransformNode]  # noqa: UP007
    createInlierFiducials: bool = True
    createResampledVolume: bool = False


class KeypointAlignWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._runner = None  # KeypointGUILib.runner.PanelRunner: the registration in the background

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/KeypointAlign.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = KeypointAlignLogic()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        from KeypointGUILib.runner import PanelRunner

        self._runner = PanelRunner(self._onProgress, self._onFinished)
        self.initializeParameterNode()

    def cleanup(self):
        if self._runner is not None:  # the module is reloaded or Slicer closes: stop the work, add nothing
            self._runner.stop()
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateApplyButton)

    def onSceneStartClose(self, caller, event):
        if self._runner is not None:  # nothing may be added to a scene being closed
            self._runner.cancel()
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event):
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self):
        parameterLogic = ScriptedLoadableModuleLogic()
        parameterLogic.moduleName = "KeypointAlign"
        self.setParameterNode(KeypointAlignParameterNode(parameterLogic.getParameterNode()))

    def setParameterNode(self, inputParameterNode):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateApplyButton)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateApplyButton)
            self._updateApplyButton()

    def _updateApplyButton(self, caller=None, event=None):
        from KeypointAlignLib.presentation import applyButton

        parameters = self._parameterNode
        state = applyButton(parameters.fixedVolume if parameters else None,
                            parameters.movingVolume if parameters else None, self._runner.running)
        self.ui.applyButton.enabled = state.enabled
        self.ui.applyButton.text = state.text
        self.ui.applyButton.toolTip = state.toolTip

    def onApplyButton(self):
        if self._runner.running:  # the button reads "Cancel" while a registration runs
            self._runner.cancel()
            self.ui.statusLabel.text = "Cancelling…"
            return
        from KeypointGUILib.runner import dependenciesReady

        from KeypointAlignLib.presentation import errorOutcome

        missing = dependenciesReady("KeypointAlign")
        if missing:
            self.ui.statusLabel.text = missing
            return
        parameters = self._parameterNode
        try:  # bad input or options are reported before anything runs
            self._runner.start(self.logic.registrationTask(
                parameters.fixedVolume, parameters.movingVolume, model=parameters.model,
                features=parameters.features, fieldOfViewDegrees=parameters.fieldOfViewDegrees,
                workingSize=parameters.workingSize, ratioTest=parameters.ratioTest,
                device=None if parameters.useGpu else "cpu", outputTransform=parameters.outputTransform,
                createInlierFiducials=parameters.createInlierFiducials,
                createResampledVolume=parameters.createResampledVolume))
        except Exception as error:
            self._show(errorOutcome(error))
            return
        self._setRunning(True)

    def _onProgress(self, stage, fraction, cancelling):
        self.ui.progressBar.value = int(round(100 * fraction))
        self.ui.statusLabel.text = "Cancelling…" if cancelling else stage

    def _onFinished(self, result, error):
        from KeypointAlignLib.presentation import cancelledOutcome, errorOutcome, resultOutcome
        from KeypointEngineLib.jobs import JobCancelled

        self._setRunning(False)
        if error is None:
            self._show(resultOutcome(result), result)
        else:  # nothing half-made is left in the scene
            self._show(cancelledOutcome() if isinstance(error, JobCancelled) else errorOutcome(error))

    def _show(self, outcome, result=None):
        self.ui.statusLabel.text = outcome.status
        if outcome.showResult:  # the output choice stays as it was: a next run makes new nodes again
            parameters = self._parameterNode
            parameters.movingVolume.SetAndObserveTransformNodeID(result.transformNode.GetID())
            slicer.util.setSliceViewerLayers(background=parameters.fixedVolume, foreground=parameters.movingVolume,
                                             foregroundOpacity=0.5, fit=True)
        if outcome.dialog is not None:
            title, text = outcome.dialog
            if outcome.isError:
                slicer.util.errorDisplay(text, windowTitle=title, detailedText=outcome.details)
            else:
                slicer.util.warningDisplay(text, windowTitle=title)

    def _setRunning(self, running):
        self.ui.progressBar.visible = running
        self.ui.progressBar.value = 0
        for section in (self.ui.inputsCollapsibleButton, self.ui.parametersCollapsibleButton,
                        self.ui.advancedCollapsibleButton, self.ui.outputsCollapsibleButton):
            section.enabled = not running
        self._updateApplyButton()


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
