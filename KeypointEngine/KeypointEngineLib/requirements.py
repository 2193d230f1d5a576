"""What the engine needs installed, what is missing, and how to install torch for this machine.

Pure Python, so it is tested here; KeypointEngine.py does the asking and installing inside Slicer.
Never lists slicer-core or vtk: Slicer ships its own, and a wheel would shadow them.
"""

from __future__ import annotations

import platform
import shutil
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
FORBIDDEN_INSIDE_SLICER = {"slicer-core", "vtk"}


def read_requirements(path: Path) -> list[Requirement]:
    lines = [line.split("#", 1)[0].strip() for line in Path(path).read_text().splitlines()]
    return [Requirement(line) for line in lines if line]


def missing_requirements(requirements: list[Requirement]) -> list[Requirement]:
    """The requirements not installed, or installed at a version outside their range."""
    missing = []
    for requirement in requirements:
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(requirement)
            continue
        if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
            missing.append(requirement)
    return missing


def nvidia_driver_present() -> bool:
    return shutil.which("nvidia-smi") is not None


def torch_pip_arguments(requirement: Requirement, has_nvidia_driver: bool | None = None,
                        system: str | None = None) -> list[str]:
    """pip arguments that install torch without a multi-GB CUDA build on machines that cannot use it.

    On Linux and Windows without an NVIDIA driver the CPU wheel index is used; macOS wheels are CPU/MPS already.
    """
    system = system or platform.system()
    has_nvidia_driver = nvidia_driver_present() if has_nvidia_driver is None else has_nvidia_driver
    arguments = [str(requirement)]
    if system in ("Linux", "Windows") and not has_nvidia_driver:
        arguments += ["--index-url", CPU_TORCH_INDEX]
    return arguments
