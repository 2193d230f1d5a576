"""KeypointEngine: hidden Slicer module that owns the engine's dependencies and device choice.

The other SlicerKeypoints modules call `ensureDependencies()` on their first Apply; nothing is installed at import
time or without the user's confirmation.
"""

import logging
import os

import slicer
from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleTest

from KeypointEngineLib.compatibility import unsupported_slicer_message
from KeypointEngineLib.requirements import missing_requirements, read_requirements, torch_pip_arguments


class KeypointEngine(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "KeypointEngine"
        self.parent.categories = ["Registration.Keypoints"]
        self.parent.dependencies = []
        self.parent.hidden = True
        self.parent.contributors = ["SlicerKeypoints developers"]
        self.parent.helpText = "Shared PyTorch engine of the SlicerKeypoints modules (dependencies, device, models)."
        self.parent.acknowledgementText = "Part of SlicerKeypoints (Apache-2.0)."
        unsupported = unsupported_slicer_message("SlicerKeypoints", (slicer.app.majorVersion, slicer.app.minorVersion))
        if unsupported:
            logging.error(unsupported)
            self.parent.helpText = unsupported


def requirementsPath():
    return os.path.join(os.path.dirname(__file__), "Resources", "requirements.txt")


def missingEngineRequirements():
    """The engine's requirements not installed in this Slicer (an extension build server has none of them)."""
    return missing_requirements(read_requirements(requirementsPath()))


def skippedForMissingRequirements(test, what):
    """True, after saying so, when `test` cannot run for want of the engine's packages: a skip, not a failure."""
    missing = missingEngineRequirements()
    if missing:
        test.delayDisplay(f"{what} skipped: the engine's packages are not installed "
                          f"({', '.join(str(requirement) for requirement in missing)}); any SlicerKeypoints module's "
                          "Apply offers to install them.")
    return bool(missing)


def ensureDependencies(requester="SlicerKeypoints"):
    """Install what the engine lacks after one confirmation listing it. Returns True when everything is present."""
    missing = missingEngineRequirements()
    if not missing:
        return True
    listing = "\n".join(f"  - {requirement}" for requirement in missing)
    if not slicer.util.confirmOkCancelDisplay(
        f"{requester} needs these Python packages, which are not installed yet:\n\n{listing}\n\n"
        "Install them now? This downloads several hundred MB once and can take a few minutes.",
        windowTitle="SlicerKeypoints: install dependencies",
    ):
        return False
    pipEnsure = _pipEnsure()
    with slicer.util.WaitCursor():
        for requirement in missing:
            # torch first gets CPU wheels on machines without an NVIDIA driver (no multi-GB CUDA download)
            arguments = torch_pip_arguments(requirement) if requirement.name == "torch" else [str(requirement)]
            if pipEnsure is not None and requirement.name != "torch":
                # the user confirmed above: no second question; installing in a test run is what the test asked for
                pipEnsure([requirement], prompt_install=False, requester=requester, skip_in_testing=False)
            else:
                slicer.util.pip_install(arguments)
    return not missingEngineRequirements()


def _pipEnsure():
    """slicer.packaging.pip_ensure on Slicer >= 5.12 (not imported at start-up), else None (older Slicer)."""
    try:
        import slicer.packaging
    except ImportError:
        return None
    return slicer.packaging.pip_ensure


class KeypointEngineTest(ScriptedLoadableModuleTest):
    """Inside Slicer (Reload and Test, or ctest): engine installed, device reported, weights intact."""

    def runTest(self):
        self.test_dependencies_and_models()

    def test_dependencies_and_models(self):
        if skippedForMissingRequirements(self, "KeypointEngine self-test"):
            return
        from KeypointEngineLib.device import choose_device
        from KeypointEngineLib.registry import default_registry

        self.delayDisplay(f"Engine device: {choose_device()}")
        registry = default_registry()
        for card in registry.cards():
            registry.load_state_dict(card.name)  # checksum, then a plain state dict
        self.delayDisplay(f"{len(registry.cards())} model(s) verified")
