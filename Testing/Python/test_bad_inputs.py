"""Bad input gets one line that says what to do, exit status 2 from the CLI, and nothing written or added."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from KeypointAlignLib.logic import KeypointAlignLogic
from KeypointAlignLib.samples import sample_retina_path
from KeypointEngineLib.registry import ModelCard, ModelRegistry, NotAStateDict, sha256_of
from KeypointMRMLLib.images2d import SLICER_2D_IJK_TO_RAS, read_image_2d
from KeypointMRMLLib.scene import make_scene
from KeypointMRMLLib.volumes import volume_from_array

RETINA = read_image_2d(sample_retina_path()).array[0][::2, ::2].copy()


def cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "KeypointCLI", *map(str, args)], capture_output=True, text=True,
                          env=env)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    sitk.WriteImage(sitk.GetImageFromArray(RETINA, isVector=True), str(folder / "fixed.jpg"))
    sitk.WriteImage(sitk.GetImageFromArray(RETINA, isVector=True), str(folder / "fixed.png"))
    whole = (folder / "fixed.jpg").read_bytes()
    (folder / "half.jpg").write_bytes(whole[: len(whole) // 2])
    whole_png = (folder / "fixed.png").read_bytes()
    (folder / "half.png").write_bytes(whole_png[: len(whole_png) * 2 // 3])
    return folder


def _expect_refusal(result, message, folder):
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not any(name.startswith(("t.", ".t.", "out")) for name in os.listdir(folder))


@pytest.mark.parametrize("moving, message", [
    ("half.jpg", "is truncated or damaged"),
    ("half.png", "is truncated or damaged"),
    (".", "is a folder, not an image file"),
    ("missing.jpg", "Image file not found"),
])
def test_unusable_image_files_are_refused(images, tmp_path, moving, message):
    result = cli("align", images / "fixed.jpg", images / moving, "-o", tmp_path / "t.h5")
    _expect_refusal(result, message, tmp_path)


def test_nan_pixels_are_named_not_taken_for_a_failed_overlap(images, tmp_path):
    pixels = RETINA[..., 1].astype(np.float32)
    pixels[100:200, 100:200] = np.nan
    image = sitk.GetImageFromArray(pixels[None])
    sitk.WriteImage(image, str(tmp_path / "nan.nrrd"))
    result = cli("align", images / "fixed.jpg", tmp_path / "nan.nrrd", "-o", tmp_path / "t.h5")
    _expect_refusal(result, "10000 pixels that are not numbers", tmp_path)

    scene = make_scene()
    fixed = volume_from_array(scene, RETINA[None], SLICER_2D_IJK_TO_RAS, "fixed")
    moving = volume_from_array(scene, pixels[None], SLICER_2D_IJK_TO_RAS, "with holes")
    before = scene.GetNumberOfNodes()
    with pytest.raises(ValueError, match="moving image 'with holes' has 10000 pixels"):
        KeypointAlignLogic().register(fixed, moving)
    assert scene.GetNumberOfNodes() == before


@pytest.mark.parametrize("points, message", [
    ("10 10\nnan 5\n", "point 2 is not a number"),
    ("10 10\n5000 20\n", "1 points lie outside the moving image (706 x 706 px)"),
    ("10 10 10\n", "has 3 columns"),
])
def test_bad_points_are_refused_before_the_registration(images, tmp_path, points, message):
    (tmp_path / "in.txt").write_text(points)
    result = cli("align", images / "fixed.jpg", images / "fixed.jpg", "-o", tmp_path / "t.h5", "--map-points",
                 tmp_path / "in.txt", "--mapped-points", tmp_path / "out.txt")
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["in.txt"]


def test_weights_that_are_not_a_plain_state_dict_are_refused_naming_the_file(tmp_path):
    torch.save(torch.nn.Linear(1, 1), tmp_path / "whole.pt")  # a pickled module: would need weights_only=False
    card = ModelCard(name="whole", file="whole.pt", sha256=sha256_of(tmp_path / "whole.pt"), architecture="Linear",
                     input={}, training_data="none (test)", recipe_command="slicer-keypoints train smoke",
                     metrics={}, date="2026-12-01")
    (tmp_path / "whole.json").write_text(card.to_json())
    with pytest.raises(NotAStateDict) as refused:
        ModelRegistry(tmp_path).load_state_dict("whole")
    message = str(refused.value)
    assert str(tmp_path / "whole.pt") in message and "weights_only=False" not in message
    result = cli("info", env={**os.environ, "KEYPOINT_MODELS_DIR": str(tmp_path)})
    assert result.returncode == 3 and "whole" in result.stdout and "FAILED" in result.stdout


def test_volumes_load_without_slicers_colour_error(tmp_path):
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((4, 5, 6), np.float32)), str(tmp_path / "v.nrrd"))
    script = ("from KeypointMRMLLib.scene import make_scene\n"
              "from KeypointMRMLLib.storage import load_volume\n"
              f"node = load_volume(make_scene(), {str(tmp_path / 'v.nrrd')!r})\n"
              "assert node.GetDisplayNode().GetColorNodeID()\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0 and "ERR|" not in result.stderr + result.stdout, result.stderr


def test_the_same_input_gives_the_same_result():
    """Every random step is seeded: two runs on two unrelated images agree exactly, success or not."""
    noise = np.random.default_rng(0).integers(0, 255, RETINA.shape[:2], dtype=np.uint8)
    scene = make_scene()
    fixed = volume_from_array(scene, RETINA[None], SLICER_2D_IJK_TO_RAS, "retina")
    moving = volume_from_array(scene, noise[None], SLICER_2D_IJK_TO_RAS, "noise")
    reports = [KeypointAlignLogic().register(fixed, moving, createInlierFiducials=False).report for _ in range(2)]
    assert {**reports[0].to_dict(), "seconds": 0} == {**reports[1].to_dict(), "seconds": 0}
    assert not reports[0].confident
