"""`slicer-keypoints segment` and `bench segment` run as a user runs them (a separate process, files in and out):
outputs Slicer opens, bad input refused with exit status 2 before any output exists, a doubtful result with status 1
under --require-confident; with the shipped model on real ACDC frames where the data folder has them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
from conftest import shared_data
from test_cli import cli

from KeypointEngineLib.registry import default_registry
from KeypointEngineLib.volume.preprocess import to_image
from KeypointEvaluationLib.cardiac.phantom import short_axis_phantom
from KeypointMRMLLib.scene import make_scene
from KeypointMRMLLib.segmentations import labelmap_from_segmentation
from KeypointMRMLLib.storage import load_node

shipped = pytest.mark.skipif("kaf-unet" not in {card.name for card in default_registry().cards()},
                             reason="the kaf-unet model is not installed")


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """ED and ES of the real ACDC validation patient patient080 as NIfTI files with the assumed spacing."""
    from KeypointEvaluationLib.cardiac.datasets import read_h5_frame

    folder = tmp_path_factory.mktemp("acdc")
    truth = {}
    for name, frame_file in (("ed", "patient080_frame01.h5"), ("es", "patient080_frame02.h5")):
        frame = read_h5_frame(shared_data(f"acdc-sample/{frame_file}"))
        scanner_range = (frame.image * 1200).astype(np.int16)  # as a scanner writes it, not the file's 0..1
        sitk.WriteImage(to_image(scanner_range, frame.ijk_to_ras), str(folder / f"{name}.nii.gz"))
        truth[name] = frame
    return folder, truth


@shipped
def test_segment_writes_both_frames_and_a_report_of_the_function(frames, tmp_path):
    folder, truth = frames
    outputs = [tmp_path / name for name in ("ed.seg.nrrd", "es.seg.nrrd", "k.mrk.json", "report.json")]
    run = cli("segment", folder / "ed.nii.gz", "--es", folder / "es.nii.gz", "-o", outputs[0], "--es-output",
              outputs[1], "--keypoints", outputs[2], "--report", outputs[3], check=False)
    assert run.returncode in (0, 1) and "LV ejection fraction" in run.stdout, run.stderr
    report = json.loads(outputs[3].read_text())
    assert report["function"]["LV ejection fraction (%)"] > 20  # patient080 is a normal heart
    scene = make_scene()
    node = load_node(scene, outputs[0], "vtkMRMLSegmentationNode")
    labels = labelmap_from_segmentation(node, truth["ed"].labels.shape, truth["ed"].ijk_to_ras)
    overlap = [2 * ((labels == v) & (truth["ed"].labels == v)).sum() / ((labels == v).sum() +
                                                                         (truth["ed"].labels == v).sum())
               for v in (1, 2, 3)]
    assert np.mean(overlap) > 0.7, overlap  # a validation patient: never trained on
    assert load_node(scene, outputs[2], "vtkMRMLMarkupsFiducialNode").GetNumberOfControlPoints() > 0


@shipped
def test_a_non_cardiac_volume_is_flagged_and_fails_when_confidence_is_required(tmp_path):
    """A real brain MRI is no heart: the quality flag must be down, so --require-confident exits 1."""
    from KeypointEvaluationLib.volume.cases import read_volume

    volume = read_volume(shared_data("volumes-more/mr_brain_t2_IXI002.nii.gz"))
    sitk.WriteImage(to_image(volume.array, volume.ijk_to_ras), str(tmp_path / "brain.nii.gz"))
    run = cli("segment", tmp_path / "brain.nii.gz", "-o", tmp_path / "b.seg.nrrd", "--report", tmp_path / "r.json",
              "--require-confident", check=False)
    assert run.returncode == 1 and "Warning" in run.stderr
    assert json.loads((tmp_path / "r.json").read_text())["confident"] is False


@pytest.mark.parametrize("case", ["missing input", "wrong suffix", "es output without es", "bad batch"])
def test_bad_input_exits_2_before_any_output(tmp_path, case):
    phantom = short_axis_phantom(slices=4, size=64)
    sitk.WriteImage(to_image(phantom.image, phantom.ijk_to_ras), str(tmp_path / "in.nii.gz"))
    arguments = {"missing input": [tmp_path / "none.nii.gz", "-o", tmp_path / "o.seg.nrrd"],
                 "wrong suffix": [tmp_path / "in.nii.gz", "-o", tmp_path / "o.nrrd"],
                 "es output without es": [tmp_path / "in.nii.gz", "-o", tmp_path / "o.seg.nrrd", "--es-output",
                                          tmp_path / "es.seg.nrrd"],
                 "bad batch": [tmp_path / "in.nii.gz", "-o", tmp_path / "o.seg.nrrd", "--batch-slices", "0"]}[case]
    run = cli("segment", *arguments, check=False)
    assert run.returncode == 2 and run.stderr.strip() and "Traceback" not in run.stderr
    assert not list(tmp_path.glob("*.seg.nrrd"))


def test_bench_segment_is_skipped_with_a_message_without_data(tmp_path):
    run = cli("bench", "segment", "--data", tmp_path)
    assert "skipped" in run.stdout


@shipped
def test_a_4d_cine_finds_its_end_systole(frames, tmp_path):
    """A cine of real frames ED, ES, ED: the frame of smallest left ventricle cavity is frame 1."""
    folder, truth = frames
    images = [to_image((truth[name].image * 1200).astype(np.int16), truth[name].ijk_to_ras) for name in ("ed", "es",
                                                                                                      "ed")]
    sitk.WriteImage(sitk.JoinSeries(images), str(tmp_path / "cine.nii.gz"))
    run = cli("segment", tmp_path / "cine.nii.gz", "-o", tmp_path / "ed.seg.nrrd", "--es-output",
              tmp_path / "es.seg.nrrd", check=False)
    assert run.returncode in (0, 1) and "end-diastole 0, end-systole 1" in run.stdout, run.stderr
    assert (tmp_path / "es.seg.nrrd").is_file()
