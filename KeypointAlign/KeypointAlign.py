"""KeypointAlign: register retinal image pairs (also across modalities) with keypoints into transform nodes.

GUI layer only: the work is done by KeypointAlignLogic (KeypointAlignLib/logic.py), which runs without the GUI and
is re-exported here so console users find it where Slicer users expect it:

    from KeypointAlign import KeypointAlignLogic
    result = KeypointAlignLogic().register(fixedNode, movingNode, model="auto")
"""

import traceback
from typing import Annotated

import slicer
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

from KeypointAlignLib.logic import DEFAULT_FEATURES, FEATURE_BACKENDS, TRANSFORM_MODELS, KeypointAlignLogic

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


@parameterNodeWrapper
class KeypointAlignParameterNode:
    fixedVolume: slicer.vtkMRMLScalarVolumeNode  # vector (RGB) volumes are scalar-volume subclasses
    movingVolume: slicer.vtkMRMLScalarVolumeNode
    model: Annotated[str, Choice(list(TRANSFORM_MODELS))] = "auto"
    features: Annotated[str, Choice(list(FEATURE_BACKENDS))] = DEFAULT_FEATURES
    fieldOfViewDegrees: Annotated[float, WithinRange(10.0, 200.0)] = 45.0
    workingSize: Annotated[int, WithinRange(256, 4096)] = 768
    ratioTest: Annotated[float, WithinRange(0.5, 1.0)] = 0.9
    useGpu: bool = True
    outputTransform: slicer.vtkMRMLTransformNode
    createInlierFiducials: bool = True
    createResampledVolume: bool = False


class KeypointAlignWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._job = None

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
        self.initializeParameterNode()

    def cleanup(self):
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, slicer.vtkCommand.ModifiedEvent, self._updateApplyButton)

    def onSceneStartClose(self, caller, event):
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
            self.removeObserver(self._parameterNode, slicer.vtkCommand.ModifiedEvent, self._updateApplyButton)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, slicer.vtkCommand.ModifiedEvent, self._updateApplyButton)
            self._updateApplyButton()

    def _updateApplyButton(self, caller=None, event=None):
        if self._job is not None:
            return
        ready = bool(self._parameterNode and self._parameterNode.fixedVolume and self._parameterNode.movingVolume)
        self.ui.applyButton.enabled = ready
        self.ui.applyButton.toolTip = "Register the moving image onto the fixed image." if ready else (
            "Select a fixed and a moving image.")

    def onApplyButton(self):
        if self._job is not None:  # the button reads "Cancel" while a registration runs
            self._job.cancel_token.cancel()
            self.ui.statusLabel.text = "Cancelling…"
            return
        from KeypointEngine import ensureDependencies

        if not ensureDependencies("KeypointAlign"):
            self.ui.statusLabel.text = "KeypointAlign needs its Python packages installed to run."
            return
        from KeypointEngineLib.jobs import Job, JobCancelled

        parameters = self._parameterNode
        self._job = Job(progress=self._onProgress)
        self._setRunning(True)
        try:
            result = self.logic.register(
                parameters.fixedVolume, parameters.movingVolume, model=parameters.model,
                features=parameters.features, fieldOfViewDegrees=parameters.fieldOfViewDegrees,
                workingSize=parameters.workingSize, ratioTest=parameters.ratioTest,
                device=None if parameters.useGpu else "cpu", outputTransform=parameters.outputTransform,
                createInlierFiducials=parameters.createInlierFiducials,
                createResampledVolume=parameters.createResampledVolume, job=self._job)
            self._showResult(result)
        except JobCancelled:
            self.ui.statusLabel.text = "Cancelled; the scene is as it was."
        except Exception as error:  # shown to the user with the details, nothing half-made is left in the scene
            self.ui.statusLabel.text = f"Registration failed: {error}"
            slicer.util.errorDisplay(f"Registration failed: {error}", detailedText=traceback.format_exc())
        finally:
            self._job = None
            self._setRunning(False)

    def _onProgress(self, stage, fraction):
        self.ui.progressBar.value = int(round(100 * fraction))
        self.ui.statusLabel.text = stage
        slicer.app.processEvents()  # keeps the GUI alive and lets the Cancel click reach the job

    def _setRunning(self, running):
        self.ui.applyButton.text = "Cancel" if running else "Apply"
        self.ui.progressBar.visible = running
        self.ui.progressBar.value = 0
        for section in (self.ui.inputsCollapsibleButton, self.ui.parametersCollapsibleButton,
                        self.ui.advancedCollapsibleButton, self.ui.outputsCollapsibleButton):
            section.enabled = not running
        if not running:
            self._updateApplyButton()

    def _showResult(self, result):
        parameters = self._parameterNode
        parameters.outputTransform = result.transformNode
        parameters.movingVolume.SetAndObserveTransformNodeID(result.transformNode.GetID())
        slicer.util.setSliceViewerLayers(background=parameters.fixedVolume, foreground=parameters.movingVolume,
                                         foregroundOpacity=0.5, fit=True)
        self.ui.statusLabel.text = result.report.summary()
        if not result.report.confident:
            slicer.util.warningDisplay(result.report.summary(), windowTitle="KeypointAlign: low confidence")


class KeypointAlignTest(ScriptedLoadableModuleTest):
    """Registers a pair made from a real fundus photograph with a known warp; run with Reload and Test or ctest."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_known_warp_is_recovered()

    def test_known_warp_is_recovered(self):
        from KeypointAlignLib.samples import add_sample_pair

        fixed, moving, pair = add_sample_pair(slicer.mrmlScene)
        result = KeypointAlignLogic().register(fixed, moving, model="auto")
        self.assertTrue(result.report.success, result.report.summary())
        self.assertLess(pair.mean_error_px(result.registration.model), 2.0, result.report.summary())
        self.delayDisplay(result.report.summary())
