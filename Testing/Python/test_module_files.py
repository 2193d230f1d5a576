"""The Slicer side that cannot run here, checked statically: CMake lists, .ui widget names, template classes."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(path.parent.name for path in REPO.glob("*/CMakeLists.txt")
                 if (path.parent / f"{path.parent.name}.py").is_file())
GUI_MODULES = [name for name in MODULES if (REPO / name / "Resources" / "UI" / f"{name}.ui").is_file()]


def _cmake_list(module: str, variable: str) -> set[str]:
    text = (REPO / module / "CMakeLists.txt").read_text()
    match = re.search(rf"set\({variable}\s+(.*?)\)", text, re.S)
    assert match, f"{module}/CMakeLists.txt does not set {variable}"
    return {entry.replace("${MODULE_NAME}", module) for entry in match.group(1).split()}


def _module_source(module: str) -> str:
    return (REPO / module / f"{module}.py").read_text()


def test_modules_found():
    assert {"KeypointEngine", "KeypointAlign"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_cmake_lists_every_python_file_of_the_module(module):
    folder = REPO / module
    on_disk = {str(path.relative_to(folder)) for path in folder.rglob("*.py") if "__pycache__" not in path.parts}
    assert _cmake_list(module, "MODULE_PYTHON_SCRIPTS") == on_disk


@pytest.mark.parametrize("module", MODULES)
def test_cmake_lists_every_resource_and_each_exists(module):
    folder = REPO / module
    on_disk = {str(path.relative_to(folder)) for path in (folder / "Resources").rglob("*") if path.is_file()}
    assert _cmake_list(module, "MODULE_PYTHON_RESOURCES") == on_disk
    assert f"Resources/Icons/{module}.png" in on_disk


@pytest.mark.parametrize("module", MODULES)
def test_every_resource_the_code_names_is_listed(module):
    listed = _cmake_list(module, "MODULE_PYTHON_RESOURCES")
    folder = REPO / module
    for source in folder.rglob("*.py"):
        text = source.read_text()
        named = set(re.findall(r"resourcePath\(\"([^\"]+)\"\)", text))
        named |= {"Resources/" + name for name in named}
        named |= set(re.findall(r"[\"'](Resources/[^\"']+)[\"']", text))
        joined = re.findall(r"os\.path\.join\(os\.path\.dirname\(__file__\), \"Resources\", \"([^\"]+)\"\)", text)
        named |= {"Resources/" + name for name in joined}
        for name in named:
            if name.startswith("Resources/"):
                assert name in listed, f"{source.name} loads {name}, which {module}/CMakeLists.txt does not list"


def test_extension_cmake_adds_every_module_and_has_metadata():
    text = (REPO / "CMakeLists.txt").read_text()
    for module in MODULES:
        assert f"add_subdirectory({module})" in text
    for field in ("EXTENSION_HOMEPAGE", "EXTENSION_CATEGORY", "EXTENSION_CONTRIBUTORS", "EXTENSION_DESCRIPTION",
                  "EXTENSION_ICONURL", "EXTENSION_SCREENSHOTURLS", "EXTENSION_DEPENDS"):
        assert re.search(rf"set\({field} \"[^\"]+\"\)", text), field
    assert "Apache-2.0" in text and (REPO / "Resources" / "Icons" / "SlicerKeypoints.png").is_file()


PANEL = REPO / "KeypointEngine" / "KeypointGUILib" / "panel.py"


@pytest.mark.parametrize("module", GUI_MODULES)
def test_ui_has_every_widget_the_module_uses(module):
    """What the module's widget names, its declared sections, and what the shared panel (KeypointGUILib) needs."""
    tree = ElementTree.parse(REPO / module / "Resources" / "UI" / f"{module}.ui")
    names = {widget.get("name") for widget in tree.iter("widget")}
    source = _module_source(module)
    used = set(re.findall(r"self\.ui\.(\w+)", source))
    sections = re.search(r"sections = \(([^)]*)\)", source)
    used |= set(re.findall(r'"(\w+)"', sections.group(1))) if sections else set()
    if "KeypointPanel" in source:
        used |= set(re.findall(r"self\.ui\.(\w+)", PANEL.read_text()))
        used |= set(re.findall(r'"(\w+)"', re.search(r"REQUIRED_WIDGETS = \(([^)]*)\)", PANEL.read_text()).group(1)))
    assert {"applyButton", "statusLabel"} <= used, "the widget uses no ui elements?"
    assert used <= names, f"missing in {module}.ui: {sorted(used - names)}"


@pytest.mark.parametrize("module", GUI_MODULES)
def test_ui_parameter_bindings_match_the_parameter_node(module):
    tree = ElementTree.parse(REPO / module / "Resources" / "UI" / f"{module}.ui")
    bound = {prop.find("string").text for prop in tree.iter("property") if prop.get("name") == "SlicerParameterName"}
    parameter_class = next(node for node in ast.walk(ast.parse(_module_source(module)))
                           if isinstance(node, ast.ClassDef) and node.name == f"{module}ParameterNode")
    fields = {item.target.id for item in parameter_class.body if isinstance(item, ast.AnnAssign)}
    assert bound == fields


@pytest.mark.parametrize("module", MODULES)
def test_module_file_follows_slicers_template(module):
    tree = ast.parse(_module_source(module))
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    expected = {module, f"{module}Test"}
    if module in GUI_MODULES:
        expected |= {f"{module}Widget", f"{module}ParameterNode"}
        imported = {alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert f"{module}Logic" in imported, "the module file must re-export its Logic class"
    assert expected <= classes


@pytest.mark.parametrize("module", GUI_MODULES)
def test_logic_imports_without_the_engine_packages(module):
    """Slicer loads the module before torch and OpenCV are installed: the logic may import them only when used."""
    blocker = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] in ('torch', 'cv2', 'monai', 'skimage'):\n"
               "            raise ImportError('blocked ' + name)\n"
               "sys.meta_path.insert(0, Block())\n"
               f"import {module}Lib.logic\n")
    subprocess.run([sys.executable, "-c", blocker], check=True, cwd=REPO)


def test_extension_states_its_minimum_slicer_release():
    from KeypointEngineLib.compatibility import MINIMUM_SLICER

    text = (REPO / "CMakeLists.txt").read_text()
    assert f'set(EXTENSION_MINIMUM_SLICER_VERSION "{MINIMUM_SLICER}")' in text
    assert "VERSION_LESS EXTENSION_MINIMUM_SLICER_VERSION" in text
    assert f"Slicer {MINIMUM_SLICER}" in (REPO / "README.md").read_text()


@pytest.mark.parametrize("module", MODULES)
def test_module_says_in_one_line_when_its_slicer_is_too_old(module):
    assert "unsupported_slicer_message(" in _module_source(module)


def _annotation_node_types(annotation: ast.expr) -> list[str]:
    """Node class names of a parameter annotation (slicer.vtkMRMLXNode or Union[...] of them), in order."""
    if isinstance(annotation, ast.Attribute) and annotation.attr.startswith("vtkMRML"):
        return [annotation.attr]
    if isinstance(annotation, ast.Subscript) and getattr(annotation.value, "id", "") == "Union":
        elements = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        return [name for element in elements for name in _annotation_node_types(element)]
    return []


@pytest.mark.parametrize("module", GUI_MODULES)
def test_node_selectors_offer_what_the_parameter_node_declares(module):
    """Slicer's GUI connector overwrites a selector's nodeTypes with the annotation's classes, and with
    showChildNodeTypes false nothing else shows: the .ui must list the same, so what a user sees is what Slicer
    sets (a colour photograph is a vtkMRMLVectorVolumeNode, not shown under vtkMRMLScalarVolumeNode alone)."""
    tree = ElementTree.parse(REPO / module / "Resources" / "UI" / f"{module}.ui")
    parameter_class = next(node for node in ast.walk(ast.parse(_module_source(module)))
                           if isinstance(node, ast.ClassDef) and node.name == f"{module}ParameterNode")
    declared = {item.target.id: _annotation_node_types(item.annotation) for item in parameter_class.body
                if isinstance(item, ast.AnnAssign)}
    selectors = [widget for widget in tree.iter("widget") if widget.get("class") == "qMRMLNodeComboBox"]
    assert selectors
    for widget in selectors:
        properties = {prop.get("name"): prop for prop in widget.findall("property")}
        parameter = properties["SlicerParameterName"].find("string").text
        listed = [item.text for item in properties["nodeTypes"].iter("string")]
        assert declared[parameter] == listed, (widget.get("name"), declared[parameter], listed)
        if parameter in ("fixedVolume", "movingVolume"):
            assert "vtkMRMLVectorVolumeNode" in declared[parameter]
