"""The layer rules (DESIGN: data flows down, nothing flows back up), checked over every file by its imports.

Each rule names the top-level modules a package must not import, anywhere in the file (function bodies included).
The checker is itself tested on sources that break the rules, so a rule that stops being checked fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(path.parent.name for path in REPO.glob("*/CMakeLists.txt") if (path.parent / f"{path.parent.name}.py")
                 .is_file())
# the user-facing modules' packages, also of a module whose Slicer files are still to come (KeypointEngine's own
# packages are the engine, the MRML layer and evaluation)
MODULE_LIBS = {path.name: path for path in sorted(REPO.glob("*/*Lib")) if path.parent.name != "KeypointEngine"
               and path.name == f"{path.parent.name}Lib"}
GUI = {"qt", "ctk", "slicer.app", "PythonQt"}
SHIPPED = {"KeypointEngineLib": REPO / "KeypointEngine" / "KeypointEngineLib",
           "KeypointEvaluationLib": REPO / "KeypointEngine" / "KeypointEvaluationLib",
           "KeypointMRMLLib": REPO / "KeypointEngine" / "KeypointMRMLLib",
           "KeypointCLI": REPO / "KeypointCLI", **MODULE_LIBS}
ABOVE_ENGINE = {"KeypointMRMLLib", "KeypointEvaluationLib", "KeypointCLI", "KeypointTraining", *MODULE_LIBS, *MODULES}
RULES = {
    "KeypointEngineLib": {"slicer", "vtk", "vtkmodules", "mrml", *GUI, *ABOVE_ENGINE},
    "KeypointEvaluationLib": {"slicer", "vtk", "vtkmodules", *GUI, *(ABOVE_ENGINE - {"KeypointEvaluationLib"})},
    "KeypointMRMLLib": {*GUI, "KeypointEvaluationLib", "KeypointCLI", "KeypointTraining", *MODULE_LIBS, *MODULES},
    "KeypointCLI": {*GUI, "KeypointTraining", *MODULES},
    **{lib: {*GUI, "KeypointTraining", *MODULES, *(set(MODULE_LIBS) - {lib})} for lib in MODULE_LIBS},
}
# the panels' shared Qt helpers: above everything but the panels themselves (only read here: Qt is Slicer's)
GUI_PACKAGES = {"KeypointGUILib": REPO / "KeypointEngine" / "KeypointGUILib"}
RULES["KeypointGUILib"] = {"KeypointCLI", "KeypointTraining", *MODULE_LIBS, *(set(MODULES) - {"KeypointEngine"})}
for rule, rules in RULES.items():
    if rule != "KeypointGUILib":
        rules.add("KeypointGUILib")
# a module's logic runs in Slicer, where the CLI core is not installed
LOGIC_RULE = {"KeypointCLI"}


def imported_names(source: str) -> set[str]:
    """Every module an import statement names, with its parents (`import slicer.app` gives slicer and slicer.app)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            names |= {".".join(parts[:length]) for length in range(1, len(parts) + 1)}
    return names


def violations(source: str, forbidden: set[str]) -> set[str]:
    return imported_names(source) & forbidden


def _files(package: str) -> list[Path]:
    folder = {**SHIPPED, **GUI_PACKAGES}[package]
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def test_the_checker_finds_imports_that_break_a_rule():
    source = ("import numpy\n"
              "def later():\n"
              "    from slicer.util import arrayFromVolume\n"
              "    import KeypointAlignLib.logic as logic\n"
              "    from qt import QTimer\n")
    assert violations(source, RULES["KeypointEngineLib"]) == {"slicer", "KeypointAlignLib", "qt"}
    assert violations("from slicer import app\n", RULES["KeypointMRMLLib"]) == {"slicer.app"}
    assert violations("import numpy, torch\n", RULES["KeypointEngineLib"]) == set()


@pytest.mark.parametrize("package", sorted(RULES))
def test_no_package_imports_from_a_layer_above_it(package):
    files = _files(package)
    assert files, f"no files found for {package}: the rule would check nothing"
    broken = {str(path.relative_to(REPO)): sorted(found) for path in files
              if (found := violations(path.read_text(), RULES[package]))}
    assert not broken, f"{package} imports from a layer above it: {broken}"


@pytest.mark.parametrize("lib", sorted(MODULE_LIBS))
def test_module_logic_runs_without_the_cli_core(lib):
    logic = SHIPPED[lib] / "logic.py"
    assert not violations(logic.read_text(), LOGIC_RULE), f"{logic} imports the CLI core, which Slicer lacks"


def test_every_shipped_package_imports_with_the_training_backend_blocked():
    """Shipped code never needs Testing/Training: every module of every shipped package imports without it, and the
    CLI then simply has no `train`."""
    modules = [".".join((package, *path.relative_to(SHIPPED[package]).with_suffix("").parts)).removesuffix(
        ".__init__") for package in SHIPPED for path in _files(package) if path.name != "__main__.py"]
    script = ("import importlib, sys\n"
              "class Block:\n"
              "    def find_spec(self, name, path=None, target=None):\n"
              "        if name.split('.')[0] == 'KeypointTraining':\n"
              "            raise ImportError('training blocked')\n"
              "sys.meta_path.insert(0, Block())\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n"
              "from KeypointCLI.main import subcommands\n"
              "names = [command.__name__ for command in subcommands()]\n"
              "assert not any('Training' in name for name in names), names\n"
              "print(len(sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
