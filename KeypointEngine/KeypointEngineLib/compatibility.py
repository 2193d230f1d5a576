"""The oldest Slicer the extension supports, and the one-line message an older one shows. Pure Python that parses on
Python 3.9, so even Slicer 5.6 and 5.8 can import it and say why the modules will not work there."""

from __future__ import annotations

import sys

MINIMUM_SLICER = "5.10"
MINIMUM_PYTHON = (3, 12)  # Slicer 5.10 bundles Python 3.12; 5.6 and 5.8 bundle 3.9


def unsupported_slicer_message(module: str, slicer_version: tuple | None = None,
                               python_version: tuple = tuple(sys.version_info[:2])) -> str | None:
    """None where `module` can run; otherwise one line saying which Slicer it needs. `slicer_version` is
    (major, minor) of the running Slicer (slicer.app.majorVersion, minorVersion); without it, the Python version
    Slicer bundles tells."""
    minimum = tuple(int(part) for part in MINIMUM_SLICER.split("."))
    if slicer_version is not None:
        if tuple(slicer_version[:2]) >= minimum:
            return None
        found = "Slicer " + ".".join(str(part) for part in slicer_version[:2])
    elif tuple(python_version[:2]) >= MINIMUM_PYTHON:
        return None
    else:
        found = "this Slicer (Python " + ".".join(str(part) for part in python_version[:2]) + ")"
    return (f"{module} needs Slicer {MINIMUM_SLICER} or later, not {found}. Install a current Slicer from "
            "https://download.slicer.org.")
