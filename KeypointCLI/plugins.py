"""The module plugins the CLI is made of: each names its subcommands, benchmarks and demo as module paths, imported
only when the parser is built (they must import nothing heavy at module level)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

GROUP = "slicer_keypoints.modules"
TRAINING = Path(__file__).resolve().parents[1] / "Testing" / "Training"  # the training backend in a source checkout


def module_plugins() -> list[ModuleType]:
    """Every module plugin registered under the entry-point group, once each (by name)."""
    named = {entry_point.name: entry_point.value for entry_point in metadata.entry_points(group=GROUP)}
    return [importlib.import_module(named[name]) for name in sorted(named)]


def contributions(kind: str) -> list:
    """What every plugin lists under `kind` ("COMMANDS", "BENCHMARKS", "DEMOS"), imported: "package.module", or
    "package.module:name" for one of several in a module (each with `add_parser` and `run`, or `run_demo`)."""
    found = []
    for plugin in module_plugins():
        for entry in getattr(plugin, kind, ()):
            module, _, attribute = entry.partition(":")
            imported = importlib.import_module(module)
            found.append(getattr(imported, attribute) if attribute else imported)
    return found


def training_command() -> ModuleType | None:
    """KeypointTraining.cli when the training backend is importable (installed, or beside this source checkout)."""
    if not _importable("KeypointTraining") and (TRAINING / "KeypointTraining").is_dir():
        sys.path.insert(0, str(TRAINING))
    return importlib.import_module("KeypointTraining.cli") if _importable("KeypointTraining") else None


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False
