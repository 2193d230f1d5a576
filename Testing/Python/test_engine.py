"""The engine: device choice, the job API, tiled inference and the dependency list. No Slicer import here."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement

from KeypointEngineLib.device import choose_device, configure_threads
from KeypointEngineLib.jobs import CancelToken, Job, JobCancelled
from KeypointEngineLib.requirements import (
    CPU_TORCH_INDEX,
    missing_requirements,
    read_requirements,
    torch_pip_arguments,
)
from KeypointEngineLib.tiling import count_windows, tiled_inference

REQUIREMENTS = Path(__file__).resolve().parents[2] / "KeypointEngine" / "Resources" / "requirements.txt"


def test_cpu_is_chosen_when_asked_by_environment(monkeypatch):
    monkeypatch.setenv("KEYPOINT_DEVICE", "cpu")
    choice = choose_device()
    assert choice.device.type == "cpu" and "KEYPOINT_DEVICE" in choice.reason


def test_explicit_preference_beats_environment(monkeypatch):
    monkeypatch.setenv("KEYPOINT_DEVICE", "cuda")
    assert choose_device("cpu").device.type == "cpu"


def test_auto_picks_cuda_exactly_when_torch_sees_it(monkeypatch):
    monkeypatch.delenv("KEYPOINT_DEVICE", raising=False)
    assert (choose_device().device.type == "cuda") == torch.cuda.is_available()


def test_unknown_or_absent_device_is_a_clear_error():
    with pytest.raises(ValueError, match="use one of auto, cpu, cuda, mps"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="KEYPOINT_DEVICE=cpu"):
            choose_device("cuda")


def test_configure_threads_sets_torch(monkeypatch):
    previous = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def test_job_reports_stages_and_stops_when_cancelled():
    seen = []
    token = CancelToken()
    job = Job(progress=lambda stage, fraction: seen.append((stage, fraction)), cancel_token=token)
    with pytest.raises(JobCancelled):
        for item in job.steps("Tiles", range(4), total=4):
            if item == 2:
                token.cancel()
    assert seen == [("Tiles", 0.0), ("Tiles", 0.25), ("Tiles", 0.5)]


def test_tiled_inference_equals_whole_image_inference_for_a_local_operator():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 2, 3, padding=1)
    image = torch.rand(1, 1, 70, 53)
    with torch.no_grad():
        whole = conv(image)
        tiled = tiled_inference(conv, image, window=(32, 32), overlap=0.5, blend="constant")
    # borders of each window see zero padding, so compare away from window edges via a tolerance on the mean
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().mean() < 0.02


def test_tiled_inference_reports_progress_per_window_and_can_be_cancelled():
    fractions = []
    job = Job(progress=lambda stage, fraction: fractions.append(fraction))
    image = torch.rand(1, 1, 20, 20, 20)
    tiled_inference(lambda x: x * 2, image, window=(10, 10, 10), overlap=0.0, job=job)
    assert count_windows((20, 20, 20), (10, 10, 10), 0.0) == 8
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and len(fractions) == 8 + 2

    token = CancelToken()
    calls = []

    def predictor(patch):
        calls.append(1)
        token.cancel()
        return patch

    with pytest.raises(JobCancelled):
        tiled_inference(predictor, image, window=(10, 10, 10), overlap=0.0, job=Job(cancel_token=token))
    assert len(calls) == 1


def test_tiled_inference_checks_window_dimensions():
    with pytest.raises(ValueError, match="2 axes but the image has 3"):
        tiled_inference(lambda x: x, torch.zeros(1, 1, 4, 4, 4), window=(2, 2))


def test_slicer_requirements_never_include_slicer_core_or_vtk():
    names = {requirement.name.lower() for requirement in read_requirements(REQUIREMENTS)}
    assert {"torch", "monai", "opencv-python-headless"} <= names
    assert not names & {"slicer-core", "vtk"}


def test_missing_requirements_finds_absent_and_outdated_packages():
    missing = missing_requirements([Requirement("numpy>=1"), Requirement("numpy<1"),
                                    Requirement("surely-not-installed-package-xyz")])
    assert [str(r) for r in missing] == ["numpy<1", "surely-not-installed-package-xyz"]


def test_torch_without_nvidia_driver_comes_from_the_cpu_index():
    requirement = Requirement("torch>=2.2")
    assert torch_pip_arguments(requirement, has_nvidia_driver=False, system="Linux")[-1] == CPU_TORCH_INDEX
    assert torch_pip_arguments(requirement, has_nvidia_driver=True, system="Windows") == ["torch>=2.2"]
    assert torch_pip_arguments(requirement, has_nvidia_driver=False, system="Darwin") == ["torch>=2.2"]


def test_an_old_slicer_is_told_in_one_line_which_slicer_it_needs():
    from KeypointEngineLib.compatibility import MINIMUM_SLICER, unsupported_slicer_message

    message = unsupported_slicer_message("KeypointAlign", (5, 8))
    assert f"Slicer {MINIMUM_SLICER} or later, not Slicer 5.8" in message and "\n" not in message
    assert unsupported_slicer_message("KeypointAlign", (5, 10)) is None
    assert unsupported_slicer_message("KeypointAlign", (6, 0)) is None
    assert "Python 3.9" in unsupported_slicer_message("KeypointAlign", None, (3, 9))
    assert unsupported_slicer_message("KeypointAlign", None, (3, 12)) is None


def test_old_slicers_can_parse_what_the_module_files_import_first():
    """Slicer 5.6 and 5.8 bundle Python 3.9: the version check must itself parse there."""
    import ast

    source = (Path(__file__).resolve().parents[2] / "KeypointEngine" / "KeypointEngineLib" / "compatibility.py")
    ast.parse(source.read_text(), feature_version=(3, 9))
