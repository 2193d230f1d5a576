"""The `slicer-keypoints` command line, run as a user runs it: a separate process, files in and files out."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

from KeypointAlignLib.cli import read_points
from KeypointAlignLib.samples import sample_retina_path
from KeypointCLI.main import build_parser
from KeypointEvaluationLib.retina.synthetic import make_pair
from KeypointMRMLLib.images2d import read_image_2d
from KeypointMRMLLib.scene import make_scene
from KeypointMRMLLib.storage import load_node, load_scene
from KeypointMRMLLib.transforms import FROM_PARENT, transform_points
from KeypointMRMLLib.volumes import array_from_volume


def cli(*args, check=True, cwd=None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "KeypointCLI", *map(str, args)], capture_output=True, text=True,
                            cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


COMMANDS = next(action for action in build_parser()._actions if action.dest == "command").choices


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(command):
    assert "usage: slicer-keypoints " + command in cli(command, "--help").stdout


def test_info_reports_versions_device_and_models():
    output = cli("info", "--device", "cpu").stdout
    assert "torch" in output and "slicer-core" in output and "Device: cpu" in output and "Models in" in output


def test_demo_writes_a_scene_that_reloads_with_every_node_and_file(tmp_path):
    """Run as the README runs it: a folder relative to the working directory."""
    output = cli("demo", "-o", "demo", cwd=tmp_path).stdout
    assert "Scene:" in output
    scene = load_scene(tmp_path / "demo" / "demo.mrml")
    fixed, moving = scene.GetFirstNodeByName("retina fixed"), scene.GetFirstNodeByName("retina moving")
    assert fixed.IsA("vtkMRMLVectorVolumeNode") and array_from_volume(fixed).array.shape == (1, 1411, 1411, 3)
    transform = scene.GetNodeByID(moving.GetTransformNodeID())
    assert transform is not None and transform.IsA("vtkMRMLGridTransformNode")
    assert scene.GetFirstNodeByName("retina fixed matched keypoints").GetNumberOfControlPoints() > 50
    report = json.loads((tmp_path / "demo" / "align-report.json").read_text())
    assert report["success"] and report["mean_error_px"] < 1.5
    assert (tmp_path / "demo" / "previews" / "checkerboard_after.png").stat().st_size > 10_000
    screenshot = read_image_2d(tmp_path / "demo" / "previews" / "KeypointAlign.jpg").array
    assert screenshot.shape == (1, 480, 960, 3)  # the README's screenshot, as the demo makes it
    keypoints = scene.GetFirstNodeByName("MNI152 T1 keypoints")
    assert keypoints.GetNumberOfControlPoints() == 500 and keypoints.GetNthControlPointLabel(0) == "K0001"
    head_moved = scene.GetFirstNodeByName("MNI152 T1 moved")
    assert scene.GetNodeByID(head_moved.GetTransformNodeID()).IsA("vtkMRMLLinearTransformNode")
    head = json.loads((tmp_path / "demo" / "sp3d-match-report.json").read_text())
    assert head["success"] and head["confident"] and head["tre_mm"] < 2.0
    assert read_image_2d(tmp_path / "demo" / "previews" / "SP3DDetect.png").array.shape[1] == 320
    from KeypointEngineLib.registry import default_registry

    if "kaf-unet" not in {card.name for card in default_registry().cards()}:
        assert "kaf-unet model is not installed" in output
        return
    segmentation = scene.GetFirstNodeByName("Short-axis phantom ED (synthetic) segmentation")
    assert segmentation.GetSegmentation().GetNumberOfSegments() == 3
    assert scene.GetFirstNodeByName("Short-axis phantom ED (synthetic) cardiac function").GetNumberOfRows() > 10
    cardiac = json.loads((tmp_path / "demo" / "keypointseg-report.json").read_text())
    assert set(cardiac["phantom"]["dice"]) == {"Right ventricle cavity", "Left ventricle myocardium",
                                               "Left ventricle cavity"}
    if "acdc_sample" in cardiac:  # with ../shared/data: a real validation patient, never trained on
        assert sum(cardiac["acdc_sample"]["dice"].values()) / 3 > 0.8
    assert read_image_2d(tmp_path / "demo" / "previews" / "KeypointSeg.png").array.shape[1] == 320


@pytest.fixture(scope="module")
def jpeg_pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pair")
    pair = make_pair(read_image_2d(sample_retina_path()).array[0][::2, ::2].copy(), seed=5)
    for name, image in (("fixed.jpg", pair.fixed), ("moving.jpg", pair.moving)):
        sitk.WriteImage(sitk.GetImageFromArray(image, isVector=True), str(folder / name))
    return folder, pair


def test_align_writes_transform_mapped_points_report_and_pictures(jpeg_pair, tmp_path):
    folder, pair = jpeg_pair
    moving_points = np.array([[200.0, 300.0], [400.5, 250.25], [350.0, 500.0]])
    fixed_points = pair.warp.moving_to_fixed(moving_points)
    (tmp_path / "moving.txt").write_text("# x y\n" + "\n".join(f"{x} {y}" for x, y in moving_points))
    cli("align", folder / "fixed.jpg", folder / "moving.jpg", "-o", tmp_path / "t.h5", "--map-points",
        tmp_path / "moving.txt", "--mapped-points", tmp_path / "fixed.txt", "--report", tmp_path / "r.json",
        "--warped", tmp_path / "warped.png", "--checkerboard", tmp_path / "check.png")
    np.testing.assert_allclose(read_points(tmp_path / "fixed.txt"), fixed_points, atol=1.5)
    assert json.loads((tmp_path / "r.json").read_text())["success"]
    assert read_image_2d(tmp_path / "warped.png").array.shape[1:3] == pair.fixed.shape[:2]

    # the .h5 holds the Slicer convention: fixed (parent) RAS point -> moving RAS point
    transform = load_node(make_scene(), tmp_path / "t.h5", "vtkMRMLGridTransformNode")
    fixed_ras = np.c_[-fixed_points, np.zeros(3)]  # PNG/JPEG geometry: IJK->RAS = diag(-1, -1, 1)
    moving_ras = transform_points(transform, fixed_ras, FROM_PARENT)
    np.testing.assert_allclose(-moving_ras[:, :2], moving_points, atol=1.5)


def test_failed_registration_exits_nonzero_and_writes_no_outputs(jpeg_pair, tmp_path):
    folder, _ = jpeg_pair
    noise = np.random.default_rng(0).integers(0, 255, (400, 400), dtype=np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(noise), str(tmp_path / "noise.png"))
    (tmp_path / "moving.txt").write_text("10 10\n")
    result = cli("align", folder / "fixed.jpg", tmp_path / "noise.png", "-o", tmp_path / "t.h5", "--model",
                 "projective", "--map-points", tmp_path / "moving.txt", "--mapped-points", tmp_path / "out.txt",
                 "--report", tmp_path / "r.json", check=False)
    assert result.returncode == 1 and "Registration failed" in result.stderr
    assert not (tmp_path / "t.h5").exists() and not (tmp_path / "out.txt").exists()
    assert json.loads((tmp_path / "r.json").read_text())["success"] is False


def test_unreadable_input_is_a_clear_error(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    result = cli("align", tmp_path / "bad.jpg", tmp_path / "bad.jpg", "-o", tmp_path / "t.h5", check=False)
    assert result.returncode == 2 and "Cannot read" in result.stderr and "Traceback" not in result.stderr


def test_train_lists_recipes():
    assert "Recipes:" in cli("train", "--list").stdout


def test_two_runs_writing_one_path_leave_one_whole_file(jpeg_pair, tmp_path):
    folder, _ = jpeg_pair
    command = [sys.executable, "-m", "KeypointCLI", "align", str(folder / "fixed.jpg"), str(folder / "moving.jpg"),
               "-o", str(tmp_path / "t.h5"), "--report", str(tmp_path / "r.json"), "--model", "affine"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    assert [run.wait(300) for run in runs] == [0, 0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["r.json", "t.h5"]  # no temporary file left
    load_node(make_scene(), tmp_path / "t.h5", "vtkMRMLLinearTransformNode")
    assert json.loads((tmp_path / "r.json").read_text())["success"]
