"""The shape every SlicerKeypoints panel has, written once: the module's .ui bound to its parameter node, Apply that
turns into Cancel while the module's Task runs in the background, a progress bar and a status line, and the outcome
shown (a dialog where the user must look). A module's widget subclasses KeypointPanel and supplies what is its own:
which Task Apply runs, the Apply button's state, the outcome of a result and how to show it in the views."""

import slicer
import vtk
from slicer.ScriptedLoadableModule import ScriptedLoadableModuleLogic, ScriptedLoadableModuleWidget
from slicer.util import VTKObservationMixin

# every panel's .ui has these (Testing/Python/test_module_files.py checks it)
REQUIRED_WIDGETS = ("applyButton", "progressBar", "statusLabel")


class KeypointPanel(ScriptedLoadableModuleWidget, VTKObservationMixin):
    parameterNodeClass = None  # the module's @parameterNodeWrapper class
    sections = ()  # names of the .ui's collapsible sections, disabled while a run goes on

    # --- what each module supplies ---------------------------------------------------------------------------
    def createLogic(self):
        raise NotImplementedError

    def applyButtonState(self, parameters, running):
        """A KeypointMRMLLib.outcomes.ApplyButton for these parameters (None before the scene is set)."""
        raise NotImplementedError

    def createTask(self, parameters):
        """The module's Task for these parameters; raises ValueError for bad input before anything runs."""
        raise NotImplementedError

    def outcomeOf(self, result):
        raise NotImplementedError

    def errorOutcomeOf(self, error):
        raise NotImplementedError

    def cancelledOutcome(self):
        from KeypointMRMLLib.outcomes import cancelledOutcome

        return cancelledOutcome()

    def showResult(self, result, parameters):
        """Show a result in the views (when its outcome says so)."""

    # --- the shared mechanics ----------------------------------------------------------------------------------
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._runner = None

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath(f"UI/{self.moduleName}.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = self.createLogic()
        from KeypointGUILib.runner import PanelRunner

        self._runner = PanelRunner(self._onProgress, self._onFinished)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
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
        parameterLogic.moduleName = self.moduleName
        self.setParameterNode(self.parameterNodeClass(parameterLogic.getParameterNode()))

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
        state = self.applyButtonState(self._parameterNode, self._runner is not None and self._runner.running)
        self.ui.applyButton.enabled = state.enabled
        self.ui.applyButton.text = state.text
        self.ui.applyButton.toolTip = state.toolTip

    def onApplyButton(self):
        if self._runner.running:  # the button reads "Cancel" while a run goes on
            self._runner.cancel()
            self.ui.statusLabel.text = "Cancelling…"
            return
        from KeypointGUILib.runner import dependenciesReady

        missing = dependenciesReady(self.moduleName)
        if missing:
            self.ui.statusLabel.text = missing
            return
        try:  # bad input or options are reported before anything runs
            self._runner.start(self.createTask(self._parameterNode))
        except Exception as error:
            self._show(self.errorOutcomeOf(error))
            return
        self._setRunning(True)

    def _onProgress(self, stage, fraction, cancelling):
        self.ui.progressBar.value = int(round(100 * fraction))
        self.ui.statusLabel.text = "Cancelling…" if cancelling else stage

    def _onFinished(self, result, error):
        from KeypointEngineLib.jobs import JobCancelled

        self._setRunning(False)
        if error is None:
            self._show(self.outcomeOf(result), result)
        else:  # nothing half-made is left in the scene
            self._show(self.cancelledOutcome() if isinstance(error, JobCancelled) else self.errorOutcomeOf(error))

    def _show(self, outcome, result=None):
        self.ui.statusLabel.text = outcome.status
        if outcome.showResult and self._parameterNode is not None:
            self.showResult(result, self._parameterNode)
        if outcome.dialog is not None:
            title, text = outcome.dialog
            if outcome.isError:
                slicer.util.errorDisplay(text, windowTitle=title, detailedText=outcome.details)
            else:
                slicer.util.warningDisplay(text, windowTitle=title)

    def _setRunning(self, running):
        self.ui.progressBar.visible = running
        self.ui.progressBar.value = 0
        for section in self.sections:
            getattr(self.ui, section).enabled = not running
        self._updateApplyButton()
