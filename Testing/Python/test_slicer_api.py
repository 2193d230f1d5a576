"""Every Slicer name the module files and .ui files use exists in Slicer's real API (../shared/slicer-api).

Checked for the oldest supported Slicer (v5.10.0) and for Slicer main; skipped when the reference is not beside the
checkout. Module folders: `<Name>/` with `<Name>/<Name>.py` and `<Name>/CMakeLists.txt`; every .py inside them and
every `<Name>/Resources/UI/*.ui`. Python is read with `ast`, .ui files with ElementTree. Rules:

* `slicer.X` (attribute chains, `getattr`/`hasattr(slicer, "X")`, `import slicer.X`, `from slicer import X`, aliases
  such as `import slicer as s`): X is a class or python-level name of `slicer_module_attributes` or a name set at
  runtime by Slicer's modules; only the first attribute is checked (`slicer.app.processEvents` checks `app`,
  `slicer.modules.<x>` is dynamic). `slicer.os`/`slicer.sys` are incidental and fail. A submodule that Slicer does not
  import at startup (`packaging`, `i18n`, ...) must be imported by the file (`import slicer.packaging`, `from ...`).
* `slicer.util.X` and `from slicer.util import X`: a function, class or public constant of `slicer/util.py`;
  `slicer.packaging.X`: a function of `slicer/packaging.py`; `from slicer.parameterNodeWrapper import X`: its
  `public_name_list`; `from slicer.ScriptedLoadableModule import X`: its classes.
* Guard rule (how code may use what an older Slicer lacks): a name missing from the reference under test but present
  in main passes only when its use is guarded: written inside the body of a `try:` with a handler for ImportError,
  ModuleNotFoundError, AttributeError, Exception (or a bare `except:`), or read by `getattr(..., default)` / `hasattr`,
  or when the same file does a guarded `import slicer.<submodule>` of it (then every use of that submodule in the file
  passes). So an unguarded `slicer.packaging` fails on v5.10.0. A name missing from main fails whatever the guard.
* .ui: every `<widget class>` is a Slicer/CTK widget of the reference or a standard Qt class of QT_CLASSES below; every
  `<property>` directly on a widget is in its `all_properties`, a standard Qt property of its Qt base classes, or a
  dynamic property Slicer reads (`SlicerParameterName`, ...). Combo-box `<item>` properties are item text, not widget
  properties; layout properties are checked against LAYOUT_PROPERTIES; spacers are not checked.
* `self.ui.<widget>.<attr>` in `<Name>.py`, for a widget of the module's .ui, read (not called) or assigned: attr is a
  property by the .ui rule. Calls are methods and are not checked (the reference lists no Qt methods), nor are
  signals (`self.ui.w.<signal>.connect(...)`).
"""

from __future__ import annotations

import ast
import difflib
import json
import xml.etree.ElementTree as ElementTree
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[2]
API = REPO.parent / "shared" / "slicer-api"
REFERENCES = {"v5.10.0": API / "by-release" / "v5.10.0", "main": API}
MODULES = sorted(cmake.parent for cmake in REPO.glob("*/CMakeLists.txt")
                 if (cmake.parent / f"{cmake.parent.name}.py").is_file())
PY_FILES = [path for module in MODULES for path in sorted(module.rglob("*.py")) if "__pycache__" not in path.parts]
UI_FILES = [path for module in MODULES for path in sorted((module / "Resources" / "UI").glob("*.ui"))]
NAMESPACES = ("slicer", "slicer.util", "slicer.packaging", "slicer.parameterNodeWrapper",
              "slicer.ScriptedLoadableModule")
GUARDING_EXCEPTIONS = {"ImportError", "ModuleNotFoundError", "AttributeError", "Exception", "BaseException"}

# Standard Qt 5 classes allowed in .ui files, one per line: "Class(Qt parent): its Q_PROPERTY names" (Qt 5 docs;
# `Line` is Designer's name for a QFrame line).
QT_TABLE = """
QObject(): objectName
QWidget(QObject): modal windowModality enabled geometry frameGeometry normalGeometry x y pos frameSize size width
    height rect childrenRect childrenRegion sizePolicy minimumSize maximumSize minimumWidth minimumHeight maximumWidth
    maximumHeight sizeIncrement baseSize palette font cursor mouseTracking tabletTracking isActiveWindow focusPolicy
    focus contextMenuPolicy updatesEnabled visible minimized maximized fullScreen sizeHint minimumSizeHint acceptDrops
    windowTitle windowIcon windowIconText windowOpacity windowModified toolTip toolTipDuration statusTip whatsThis
    accessibleName accessibleDescription layoutDirection autoFillBackground styleSheet locale windowFilePath
    inputMethodHints
QFrame(QWidget): frameShape frameShadow lineWidth midLineWidth frameWidth frameRect
Line(QFrame): orientation
QAbstractButton(QWidget): text icon iconSize shortcut checkable checked autoRepeat autoExclusive autoRepeatDelay
    autoRepeatInterval down
QPushButton(QAbstractButton): autoDefault default flat
QCheckBox(QAbstractButton): tristate
QRadioButton(QAbstractButton):
QToolButton(QAbstractButton): popupMode toolButtonStyle autoRaise arrowType
QLabel(QFrame): text textFormat pixmap scaledContents alignment wordWrap margin indent openExternalLinks
    textInteractionFlags hasSelectedText selectedText
QComboBox(QWidget): editable count currentText currentIndex currentData maxVisibleItems maxCount insertPolicy
    sizeAdjustPolicy minimumContentsLength iconSize placeholderText duplicatesEnabled frame modelColumn
QAbstractSpinBox(QWidget): wrapping frame alignment readOnly buttonSymbols specialValueText text accelerated
    correctionMode acceptableInput keyboardTracking showGroupSeparator
QSpinBox(QAbstractSpinBox): suffix prefix cleanText minimum maximum singleStep stepType value displayIntegerBase
QDoubleSpinBox(QAbstractSpinBox): prefix suffix cleanText decimals minimum maximum singleStep stepType value
QAbstractSlider(QWidget): minimum maximum singleStep pageStep value sliderPosition tracking orientation
    invertedAppearance invertedControls sliderDown
QSlider(QAbstractSlider): tickPosition tickInterval
QProgressBar(QWidget): minimum maximum text value alignment textVisible orientation invertedAppearance textDirection
    format
QLineEdit(QWidget): inputMask text maxLength frame echoMode displayText cursorPosition alignment modified
    hasSelectedText selectedText dragEnabled readOnly undoAvailable redoAvailable acceptableInput placeholderText
    cursorMoveStyle clearButtonEnabled
QGroupBox(QWidget): title alignment flat checkable checked
QAbstractScrollArea(QFrame): verticalScrollBarPolicy horizontalScrollBarPolicy sizeAdjustPolicy
QScrollArea(QAbstractScrollArea): widgetResizable alignment
QTextEdit(QAbstractScrollArea): autoFormatting tabChangesFocus documentTitle undoRedoEnabled lineWrapMode
    lineWrapColumnOrWidth readOnly markdown html plainText overwriteMode tabStopWidth tabStopDistance acceptRichText
    cursorWidth textInteractionFlags document placeholderText
QTextBrowser(QTextEdit): source sourceType searchPaths openExternalLinks openLinks
QPlainTextEdit(QAbstractScrollArea): tabChangesFocus documentTitle undoRedoEnabled lineWrapMode readOnly plainText
    overwriteMode tabStopWidth tabStopDistance cursorWidth textInteractionFlags maximumBlockCount backgroundVisible
    centerOnScroll placeholderText
QGraphicsView(QAbstractScrollArea): backgroundBrush foregroundBrush interactive sceneRect alignment renderHints
    dragMode cacheMode transformationAnchor resizeAnchor viewportUpdateMode rubberBandSelectionMode optimizationFlags
QAbstractItemView(QAbstractScrollArea): autoScroll autoScrollMargin editTriggers tabKeyNavigation showDropIndicator
    dragEnabled dragDropOverwriteMode dragDropMode defaultDropAction alternatingRowColors selectionMode
    selectionBehavior iconSize textElideMode verticalScrollMode horizontalScrollMode
QListView(QAbstractItemView): movement flow isWrapping resizeMode layoutMode spacing gridSize viewMode modelColumn
    uniformItemSizes batchSize wordWrap selectionRectVisible itemAlignment
QListWidget(QListView): count currentRow sortingEnabled
QTreeView(QAbstractItemView): autoExpandDelay indentation rootIsDecorated uniformRowHeights itemsExpandable
    sortingEnabled animated allColumnsShowFocus wordWrap headerHidden expandsOnDoubleClick
QTreeWidget(QTreeView): columnCount topLevelItemCount
QTableView(QAbstractItemView): showGrid gridStyle sortingEnabled wordWrap cornerButtonEnabled
QTableWidget(QTableView): rowCount columnCount
QHeaderView(QAbstractItemView): firstSectionMovable showSortIndicator highlightSections stretchLastSection
    cascadingSectionResizes defaultSectionSize minimumSectionSize maximumSectionSize defaultAlignment
QTabWidget(QWidget): tabPosition tabShape currentIndex count iconSize elideMode usesScrollButtons documentMode
    tabsClosable movable tabBarAutoHide
QStackedWidget(QFrame): currentIndex count
QSplitter(QFrame): orientation opaqueResize handleWidth childrenCollapsible
QSplitterHandle(QWidget):
QDialogButtonBox(QWidget): orientation standardButtons centerButtons
QDialog(QWidget): sizeGripEnabled modal
QColorDialog(QDialog): currentColor options
QFileDialog(QDialog): viewMode fileMode acceptMode readOnly resolveSymlinks confirmOverwrite defaultSuffix
    nameFilterDetailsVisible options supportedSchemes
QMessageBox(QDialog): text icon iconPixmap textFormat standardButtons detailedText informativeText
    textInteractionFlags
QMainWindow(QWidget): iconSize toolButtonStyle animated documentMode tabShape dockNestingEnabled dockOptions
    unifiedTitleAndToolBarOnMac
QMenu(QWidget): tearOffEnabled title icon separatorsCollapsible toolTipsVisible
QMenuBar(QWidget): defaultUp nativeMenuBar
QStatusBar(QWidget): sizeGripEnabled
QToolBar(QWidget): movable allowedAreas orientation iconSize toolButtonStyle floating floatable
QDockWidget(QWidget): floating features allowedAreas windowTitle
QVTKOpenGLNativeWidget(QWidget):
QWebEngineView(QWidget): title url iconUrl icon selectedText hasSelection zoomFactor
"""


def _qt_classes(table: str) -> dict[str, tuple[str | None, list[str]]]:
    classes = {}
    for entry in table.replace("\n    ", " ").strip().splitlines():
        head, _, properties = entry.partition(":")
        name, _, parent = head.rstrip(")").partition("(")
        classes[name] = (parent or None, properties.split())
    return classes


QT_CLASSES = _qt_classes(QT_TABLE)
_LAYOUT = "objectName spacing margin leftMargin topMargin rightMargin bottomMargin sizeConstraint"
LAYOUT_PROPERTIES = {"QVBoxLayout": _LAYOUT, "QHBoxLayout": _LAYOUT,
                     "QGridLayout": f"{_LAYOUT} horizontalSpacing verticalSpacing",
                     "QFormLayout": f"{_LAYOUT} horizontalSpacing verticalSpacing fieldGrowthPolicy rowWrapPolicy "
                                    "labelAlignment formAlignment"}


class Use(NamedTuple):
    line: int
    namespace: str  # "slicer", "slicer.util", ...
    name: str
    guarded: bool
    imported: bool = False  # by an import statement


@cache
def load_reference(ref: str) -> dict:
    folder = REFERENCES[ref]
    if not (folder / "slicer-python-api.json").is_file():
        pytest.skip(f"Slicer API reference not available: {folder} (see ../shared/slicer-api/README.md)")
    api = json.loads((folder / "slicer-python-api.json").read_text())
    qt = json.loads((folder / "qt-widget-properties.json").read_text())
    attributes, util, packaging = api["slicer_module_attributes"], api["slicer_util_functions"], api["slicer_packaging"]
    levels = attributes["python_level"]
    return {"ref": ref, "packaging_note": packaging.get("note"), "widgets": qt["widgets"],
            "slicer": set(attributes["names"]) | set(levels) | set(attributes["names_runtime_set_by_slicer_modules"]),
            "incidental": set(attributes["names_incidental"]),
            "not_at_startup": {name for name, entry in levels.items()
                               if entry["kind"] == "python_submodule" and not entry["imported_at_startup"]},
            "slicer.util": {entry["name"] for key in ("functions", "classes", "module_level_public_assignments")
                            for entry in util[key]},
            "slicer.packaging": {entry["name"] for entry in packaging["functions"]} if packaging["present"] else set(),
            "slicer.parameterNodeWrapper": set(api["parameter_node_wrapper"]["public_name_list"]),
            "slicer.ScriptedLoadableModule": {entry["name"] for entry in api["ScriptedLoadableModule"]["classes"]},
            "qt_classes": {name for names in qt["plain_qt_classes"].values() if isinstance(names, list)
                           for name in names},
            "dynamic": set(qt["dynamic_properties_used_by_slicer"])
            | set(api["parameter_node_wrapper"]["dynamic_widget_properties_used"])}


def _resolve(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The dotted Slicer path an expression names (`s.util` -> "slicer.util" after `import slicer as s`), or None."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, aliases)
        return base and f"{base}.{node.attr}"
    if _is_getattr(node):
        base = _resolve(node.args[0], aliases)
        return base and f"{base}.{node.args[1].value}"
    return None


def _is_getattr(node: ast.AST, functions=("getattr",)) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str))


def _walk(node: ast.AST, guarded: bool = False):
    """ast.walk that also says whether each node is inside the body of a try catching ImportError/AttributeError."""
    yield node, guarded
    if isinstance(node, ast.Try) and any(handler.type is None or any(
            isinstance(kind, ast.Name) and kind.id in GUARDING_EXCEPTIONS
            for kind in (handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]))
            for handler in node.handlers):
        children = [(child, True) for child in node.body]
        children += [(child, guarded) for child in node.handlers + node.orelse + node.finalbody]
    else:
        children = [(child, guarded) for child in ast.iter_child_nodes(node)]
    for child, child_guarded in children:
        yield from _walk(child, child_guarded)


def python_uses(tree: ast.AST) -> list[Use]:
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update({alias.asname or "slicer": alias.name if alias.asname else "slicer"
                            for alias in node.names if alias.name.split(".")[0] == "slicer"})
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "slicer":
            aliases.update({alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names})
    uses = []
    for node, guarded in _walk(tree):
        dotted = []
        if isinstance(node, ast.Attribute) and (base := _resolve(node.value, aliases)):
            uses.append(Use(node.lineno, base, node.attr, guarded))
        elif _is_getattr(node, ("getattr", "hasattr")) and (base := _resolve(node.args[0], aliases)):
            safe = guarded or node.func.id == "hasattr" or len(node.args) == 3
            uses.append(Use(node.lineno, base, node.args[1].value, safe))
        elif isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            dotted = [f"{node.module}.{alias.name}" for alias in node.names]
        for path in dotted:
            parts = path.split(".")
            uses += [Use(node.lineno, ".".join(parts[:i]), parts[i], guarded, True)
                     for i in range(1, len(parts)) if parts[0] == "slicer"]
    return [use for use in uses if use.namespace in NAMESPACES]


def _hint(namespace: str, name: str, ref: dict, main: dict) -> str:
    if namespace == "slicer" and name.startswith("vtk") and not name.startswith(("vtkMRML", "vtkSlicer")):
        return f"plain VTK classes are in `vtk`, not `slicer`: use vtk.{name} (import vtk)"
    if name in main[namespace]:
        note = f" ({ref['packaging_note']})" if "packaging" in (namespace, name) and ref["packaging_note"] else ""
        return f"added after {ref['ref']}{note}; while {ref['ref']} is supported, guard it (see the guard rule above)"
    close = difflib.get_close_matches(name, ref[namespace], n=1)
    return f"did you mean {namespace}.{close[0]}?" if close else f"not in {namespace} of Slicer {ref['ref']}"


def class_properties(cls: str, ref: dict) -> set[str] | None:
    """Q_PROPERTY names of a Slicer/CTK widget (with its Qt bases) or of a standard Qt class; None if unknown."""
    widget = ref["widgets"].get(cls)
    names, qt = (set(widget["all_properties"]), widget["qt_base"]) if widget else (set(), cls)
    if qt not in QT_CLASSES:
        return names if widget else None
    while qt:
        qt, own = QT_CLASSES[qt]
        names |= set(own)
    return names


def _property_problem(where: str, cls: str, prop: str, ref: dict) -> list[str]:
    known = class_properties(cls, ref)
    if known is None or prop in known or prop in ref["dynamic"]:
        return []
    close = difflib.get_close_matches(prop, known | ref["dynamic"], n=1)
    hint = f": did you mean {close[0]}?" if close else ""
    return [f"{where}: [{ref['ref']}] {cls}.{prop} is not a property of {cls} or its Qt base classes{hint}"]


def python_problems(source: str, filename: str, ref: dict, main: dict, widgets: dict | None = None) -> list[str]:
    tree = ast.parse(source)
    uses = python_uses(tree)
    imported = {use.name for use in uses if use.namespace == "slicer" and use.imported}
    guarded_imports = {use.name for use in uses if use.namespace == "slicer" and use.imported and use.guarded}
    problems = []
    for use in uses:
        label, where = f"{use.namespace}.{use.name}", f"{filename}:{use.line}: [{ref['ref']}]"
        submodule = use.name if use.namespace == "slicer" else use.namespace.split(".")[1]
        if use.namespace == "slicer" and use.name in ref["incidental"]:
            problems.append(f"{where} {label} is an incidental import of slicer/__init__.py: import {use.name} instead")
        elif use.name in ref[use.namespace]:
            if use.namespace == "slicer" and use.name in ref["not_at_startup"] and use.name not in imported:
                problems.append(f"{where} {label} is not imported at Slicer startup: add `import {label}` first")
        elif not ((use.guarded or submodule in guarded_imports) and use.name in main[use.namespace]):
            problems.append(f"{where} {label} does not exist: {_hint(use.namespace, use.name, ref, main)}")
    # self.ui.<widget>.<attr> read or assigned; calls and signal connections are skipped
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree) if widgets else []:
        owner = node.value if isinstance(node, ast.Attribute) else None
        ui = getattr(owner, "value", None)
        if not (isinstance(owner, ast.Attribute) and owner.attr in widgets and isinstance(ui, ast.Attribute)
                and ui.attr == "ui" and isinstance(ui.value, ast.Name) and ui.value.id == "self"):
            continue
        parent = parents.get(id(node))
        called = isinstance(parent, ast.Call) and parent.func is node
        signal = isinstance(parent, ast.Attribute) and parent.attr in ("connect", "disconnect", "emit")
        if not (called or signal):
            where = f"{filename}:{node.lineno} (self.ui.{owner.attr})"
            problems += _property_problem(where, widgets[owner.attr], node.attr, ref)
    return problems


def ui_classes(text: str) -> dict[str, str]:
    return {widget.get("name"): widget.get("class") for widget in ElementTree.fromstring(text).iter("widget")}


def ui_problems(text: str, filename: str, ref: dict) -> list[str]:
    lines = text.splitlines()

    def line_of(attribute: str, value: str, start: int = 0) -> int:  # first line at or after start with name="value"
        needle = f'{attribute}="{value}"'
        return next((number + 1 for number in range(start, len(lines)) if needle in lines[number]), start)

    problems = []
    for element in (element for element in ElementTree.fromstring(text).iter() if element.tag in ("widget", "layout")):
        cls, name, properties = element.get("class"), element.get("name"), element.findall("property")
        start = line_of("name", name)
        if element.tag == "layout":
            problems += [f"{filename}:{line_of('name', prop.get('name'), start - 1)}: [{ref['ref']}] layout {name} "
                         f"({cls}): {prop.get('name')} is not a layout property" for prop in properties
                         if cls in LAYOUT_PROPERTIES and prop.get("name") not in LAYOUT_PROPERTIES[cls].split()]
        elif cls not in ref["widgets"] and cls not in ref["qt_classes"] and cls not in QT_CLASSES:
            close = difflib.get_close_matches(cls, list(ref["widgets"]) + list(QT_CLASSES), n=1)
            problems.append(f"{filename}:{start}: [{ref['ref']}] widget {name}: class {cls} is not a Slicer, CTK or "
                            f"standard Qt widget" + (f": did you mean {close[0]}?" if close else ""))
        else:
            for prop in properties:
                where = f"{filename}:{line_of('property name', prop.get('name'), start - 1)} (widget {name})"
                problems += _property_problem(where, cls, prop.get("name"), ref)
    return problems


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_module_files_are_found():
    assert {"KeypointEngine", "KeypointAlign"} <= {module.name for module in MODULES}
    assert any(f"{path.parts[-3]}Lib" == path.parent.name for path in PY_FILES), "the <Name>Lib packages are checked"
    assert UI_FILES


@pytest.mark.parametrize("ref", REFERENCES)
@pytest.mark.parametrize("path", PY_FILES, ids=_relative)
def test_python_uses_only_slicer_api_names(path, ref):
    module = path.relative_to(REPO).parts[0]
    widgets = {}
    if path == REPO / module / f"{module}.py":
        for ui in sorted((REPO / module / "Resources" / "UI").glob("*.ui")):
            widgets |= ui_classes(ui.read_text())
    problems = python_problems(path.read_text(), _relative(path), load_reference(ref), load_reference("main"), widgets)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("ref", REFERENCES)
@pytest.mark.parametrize("path", UI_FILES, ids=_relative)
def test_ui_uses_only_real_widgets_and_properties(path, ref):
    problems = ui_problems(path.read_text(), _relative(path), load_reference(ref))
    assert not problems, "\n".join(problems)


SYNTHETIC_UI = """<ui version="4.0"><widget class="qMRMLWidget" name="root"><layout class="QFormLayout" name="form">
<item><widget class="qMRMLNodeComboBox" name="selector"><property name="nodeTypes"><stringlist/></property>
<property name="toolTip"><string>x</string></property><property name="noneEnabeld"><bool>true</bool></property>
<property name="SlicerParameterName" stdset="0"><string>a</string></property></widget></item>
<item><widget class="QComboBox" name="combo"><item><property name="text"><string>a</string></property></item>
<property name="currentIndex"><number>0</number></property></widget></item>
<item><widget class="qMRMLNotAWidget" name="odd"/></item></layout></widget></ui>
"""


@pytest.mark.parametrize("ref", REFERENCES)
def test_checker_reports_each_kind_of_problem(ref):
    reference, main = load_reference(ref), load_reference("main")
    source = ("import slicer\nfrom slicer.util import loadUI, notAnImport\nslicer.vtkCommand.ModifiedEvent\n"
              "slicer.util.notAFunction()\nslicer.app.processEvents()\nself.ui.selector.noneEnabled = True\n"
              "self.ui.selector.notAProperty = 1\nself.ui.selector.setMRMLScene(slicer.mrmlScene)\nslicer.os.path\n")
    problems = python_problems(source, "t.py", reference, main, ui_classes(SYNTHETIC_UI))
    for line, name in ((2, "slicer.util.notAnImport"), (3, "vtk.vtkCommand"), (4, "slicer.util.notAFunction"),
                       (7, "qMRMLNodeComboBox.notAProperty"), (9, "slicer.os")):
        assert any(p.startswith(f"t.py:{line}") and name in p and f"[{ref}]" in p for p in problems), (name, problems)
    assert len(problems) == 5, problems
    problems = ui_problems(SYNTHETIC_UI, "t.ui", reference)
    assert len(problems) == 2 and "t.ui:3" in problems[0] and "did you mean noneEnabled" in problems[0], problems
    assert "t.ui:7" in problems[1] and "qMRMLNotAWidget" in problems[1], problems


@pytest.mark.parametrize("ref", REFERENCES)
def test_checker_applies_the_guard_rule_to_slicer_packaging(ref):
    reference, main = load_reference(ref), load_reference("main")
    unguarded = "import slicer.packaging\nslicer.packaging.pip_ensure([])\n"
    guarded = ("import slicer\ntry:\n    import slicer.packaging\nexcept ImportError:\n    pass\n"
               "slicer.packaging.pip_ensure([])\n")
    not_imported = 'import slicer\ngetattr(getattr(slicer, "packaging", None), "pip_ensure", None)\n'
    assert python_problems(guarded, "t.py", reference, main) == []
    assert python_problems(guarded + "slicer.packaging.notAFunction\n", "t.py", reference, main) != []
    if ref == "main":
        assert python_problems(unguarded, "t.py", reference, main) == []
        assert "not imported at Slicer startup" in " ".join(python_problems(not_imported, "t.py", reference, main))
    else:
        assert "slicer.packaging does not exist" in " ".join(python_problems(unguarded, "t.py", reference, main))
        assert python_problems(not_imported, "t.py", reference, main) == []
