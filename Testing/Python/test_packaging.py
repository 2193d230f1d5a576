"""The wheel, not only the editable install: it carries every module's models and cards, the registry and the CLI
find them, and the training backend stays out."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """Built from a copy of the files git tracks (an in-tree build/ folder could carry stale files into it)."""
    folder = tmp_path_factory.mktemp("wheel")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    source = folder / "source"
    for name in filter(None, tracked.decode().split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w",
                    str(folder), str(source)], check=True, capture_output=True)
    wheel = next(folder.glob("slicer_keypoints-*.whl"))
    target = folder / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True)
    return wheel, target


def test_the_wheel_carries_models_and_leaves_training_out(installed_wheel):
    names = zipfile.ZipFile(installed_wheel[0]).namelist()
    assert "KeypointAlignLib/Models/retina-keypoints.pt" in names and "KeypointAlignLib/Models/retina-keypoints.json" \
        in names
    assert not any(name.startswith("KeypointTraining/") for name in names)


def test_the_installed_wheel_finds_its_models_and_has_no_train(installed_wheel):
    _, target = installed_wheel
    script = ("from KeypointEngineLib.registry import default_registry\n"
              "from KeypointCLI.main import subcommands\n"
              "card = default_registry().card('retina-keypoints')\n"
              "default_registry().verify(card)\n"
              "print(card.folder)\n"
              "print(' '.join(command.__name__ for command in subcommands()))\n")
    environment = {**os.environ, "PYTHONPATH": str(target)}
    environment.pop("KEYPOINT_MODELS_DIR", None)
    # run from a folder without the checkout's Testing/Training beside the installed CLI
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=target,
                            env=environment)
    assert result.returncode == 0, result.stderr
    folder, commands = result.stdout.splitlines()
    assert Path(folder).is_relative_to(target)
    assert "KeypointAlignLib.cli" in commands and "Training" not in commands
