"""`slicer-keypoints detect` and `match` run as a user runs them (a separate process, files in and out), with the
shipped SP3D model on a real volume where the data folder has one: outputs Slicer opens, bad input refused with
exit status 2 before any output exists, a doubtful match with status 1 under --require-confident."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
from conftest import shared_data
from test_cli import cli

from KeypointEngineLib.geometry import apply_matrix
from KeypointEngineLib.volume.preprocess import to_image
from KeypointEvaluationLib.volume.cases import move_and_rescan, read_volume, repositioning
from KeypointMRMLLib.markups import points_from_fiducials
from KeypointMRMLLib.scene import make_scene
from KeypointMRMLLib.storage import load_node


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """A real brain MRI (IXI002 T1, held out) at 2 mm, and a copy under a known rigid repositioning, as files."""
    volume = read_volume(shared_data("volumes-more/mr_brain_t1_IXI002.nii.gz"))
    image = sitk.Resample(to_image(volume.array, volume.ijk_to_ras), [75, 128, 128], sitk.Transform(),
                          sitk.sitkLinear, to_image(volume.array, volume.ijk_to_ras).GetOrigin(), [2.4, 1.88, 1.88],
                          to_image(volume.array, volume.ijk_to_ras).GetDirection())
    folder = tmp_path_factory.mktemp("head")
    sitk.WriteImage(image, str(folder / "fixed.nii.gz"))
    fixed = read_volume(folder / "fixed.nii.gz")
    motion = repositioning(np.random.default_rng(4), 30.0, 20.0, fixed.ijk_to_ras[:3, 3] + [90, 110, 120])
    moved = move_and_rescan(fixed, motion, np.random.default_rng(4), 0.0)
    sitk.WriteImage(to_image(moved.array, moved.ijk_to_ras), str(folder / "moving.nii.gz"))
    return folder, motion


@pytest.mark.parametrize("features", ["hessian", "sp3d"])
def test_detect_writes_labelled_keypoints_slicer_reads(head, tmp_path, features):
    folder, _ = head
    output = tmp_path / "keypoints.mrk.json"
    cli("detect", folder / "fixed.nii.gz", "-o", output, "--max-keypoints", "300", "--features", features)
    node = load_node(make_scene(), output, "vtkMRMLMarkupsFiducialNode")
    assert 50 < node.GetNumberOfControlPoints() <= 300 and node.GetNthControlPointLabel(0) == "K0001"


def test_match_recovers_a_repositioning_and_writes_every_output(head, tmp_path):
    folder, motion = head
    outputs = [tmp_path / name for name in ("t.h5", "f.mrk.json", "m.mrk.json", "r.json")]
    result = cli("match", folder / "fixed.nii.gz", folder / "moving.nii.gz", "-o", outputs[0], "--fixed-inliers",
                 outputs[1], "--moving-inliers", outputs[2], "--report", outputs[3], "--require-confident")
    assert "rigid model from" in result.stdout
    report = json.loads(outputs[3].read_text())
    assert report["success"] and report["confident"] and report["units"] == "mm"
    fixed_points = points_from_fiducials(load_node(make_scene(), outputs[1], "vtkMRMLMarkupsFiducialNode"))
    moving_points = points_from_fiducials(load_node(make_scene(), outputs[2], "vtkMRMLMarkupsFiducialNode"))
    assert len(fixed_points) == len(moving_points) == report["inliers"]
    errors = np.linalg.norm(apply_matrix(motion, fixed_points) - moving_points, axis=1)
    assert np.median(errors) < 4.0  # the inlier pairs are true correspondences
    transform = sitk.ReadTransform(str(outputs[0]))  # ITK: fixed LPS -> moving LPS
    point = np.array([10.0, 20.0, 30.0])  # RAS
    mapped = np.array(transform.TransformPoint((-point[0], -point[1], point[2]))) * [-1, -1, 1]
    assert np.linalg.norm(mapped - apply_matrix(motion, point[None])[0]) < 4.0


def test_bad_inputs_exit_2_before_any_output(head, tmp_path):
    folder, _ = head
    garbage = tmp_path / "broken.nii.gz"
    garbage.write_bytes(b"not a volume")
    vector = tmp_path / "rgb.nrrd"
    sitk.WriteImage(sitk.Image([16, 16, 8], sitk.sitkVectorUInt8, 3), str(vector))
    output = tmp_path / "out.mrk.json"
    cases = [(("detect", tmp_path / "missing.nii.gz", "-o", output), "missing.nii.gz"),
             (("detect", garbage, "-o", output), "broken.nii.gz"),
             (("detect", vector, "-o", output), "give a scalar CT or MRI volume"),
             (("detect", folder / "fixed.nii.gz", "-o", output, "--max-keypoints", "0"), "maximum number of keypoints"),
             (("detect", folder / "fixed.nii.gz", "-o", tmp_path / "out.txt"), ".mrk.json"),
             (("match", folder / "fixed.nii.gz", folder / "moving.nii.gz", "-o", tmp_path / "t.h5", "--model",
               "projective"), "invalid choice")]
    for arguments, message in cases:
        result = cli(*arguments, check=False)
        assert result.returncode == 2, (arguments, result.stderr)
        assert message in result.stderr, (arguments, result.stderr)
        assert not output.exists() and not (tmp_path / "t.h5").exists()


def test_unrelated_volumes_are_never_confident(head, tmp_path):
    folder, _ = head
    knee = shared_data("volumes-more/mr_knee_t2_echo8.nii.gz")
    result = cli("match", folder / "fixed.nii.gz", knee, "-o", tmp_path / "t.h5", "--report", tmp_path / "r.json",
                 "--require-confident", check=False)
    assert result.returncode == 1 and not json.loads((tmp_path / "r.json").read_text())["confident"]
