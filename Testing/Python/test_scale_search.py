"""Scale without guessing: per-image fields of view, a search of their ratio when one is unknown, ultra-widefield
refused (engine, logic and CLI alike)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

from KeypointAlignLib.samples import sample_retina_path
from KeypointEngineLib.errors import InputError
from KeypointEngineLib.retina.backends import RETINA_BACKENDS
from KeypointEngineLib.retina.parameters import SCALE_SEARCH, fields_of_view
from KeypointEngineLib.retina.pipeline import register_pair
from KeypointEvaluationLib.retina.benchmark import RIGHT_PX, make_benchmark_pair
from KeypointEvaluationLib.retina.fire_score import pair_error
from KeypointMRMLLib.images2d import read_image_2d

RETINA = read_image_2d(sample_retina_path()).array[0][::2, ::2].copy()


def test_fields_of_view_one_for_both_or_one_each_and_the_search_spans_half_to_double():
    assert fields_of_view() == (None, None)
    assert fields_of_view(30) == (30, 30)
    assert fields_of_view(45, moving_fov_degrees=30) == (45, 30)
    assert fields_of_view(fixed_fov_degrees=45) == (45, None)
    with pytest.raises(InputError, match="over 60 degrees are not supported"):
        fields_of_view(45, moving_fov_degrees=100)
    # the ratio of two fields of view it must find: a 20° infrared field against a 45° photograph, or the inverse
    assert SCALE_SEARCH[0] == 1.0 and min(SCALE_SEARCH) <= 20 / 45 and max(SCALE_SEARCH) >= 45 / 20
    assert max(np.diff(np.log2(sorted(SCALE_SEARCH)))) <= 0.25 + 1e-9  # no scale more than 2^(1/8) from a step


def test_an_angiogram_at_another_scale_with_no_field_of_view_is_found_by_the_search():
    pair = make_benchmark_pair(RETINA, "scale", np.random.default_rng(1), "skimage retina")
    assert pair.fields_of_view == (None, None) and pair.modality == "angiography"
    learned = RETINA_BACKENDS.get("learned")
    nominal = register_pair(pair.fixed, pair.moving, extractor=learned, fixed_fov_degrees=45, moving_fov_degrees=45)
    assert not nominal.report.confident  # at the photograph's scale the square field does not register
    searched = register_pair(pair.fixed, pair.moving, extractor=learned)
    assert searched.report.confident and searched.report.scale_factor != 1.0
    assert pair_error(searched.model, pair.fixed_points, pair.moving_points) * pair.fire_scale <= RIGHT_PX


def test_a_search_that_finds_nothing_confident_keeps_the_nominal_result():
    noise = np.random.default_rng(0).integers(0, 255, RETINA.shape[:2], dtype=np.uint8)
    steps = []
    from KeypointEngineLib.jobs import Job

    registration = register_pair(RETINA, noise, model="similarity",
                                 job=Job(progress=lambda stage, fraction: steps.append(fraction)))
    assert not registration.report.confident and registration.report.scale_factor == 1.0
    assert steps == sorted(steps) and steps[-1] == 1.0  # one progress bar over every scale tried


def test_cli_takes_a_field_of_view_per_image_and_refuses_ultra_widefield(tmp_path):
    sitk.WriteImage(sitk.GetImageFromArray(RETINA, isVector=True), str(tmp_path / "fixed.png"))

    def align(*options):
        return subprocess.run([sys.executable, "-m", "KeypointCLI", "align", tmp_path / "fixed.png",
                               tmp_path / "fixed.png", "-o", tmp_path / "t.h5", "--report", tmp_path / "r.json",
                               *options], capture_output=True, text=True)

    refused = align("--fov", "45", "--moving-fov", "110")
    assert refused.returncode == 2 and "over 60 degrees are not supported" in refused.stderr
    assert not (tmp_path / "t.h5").exists()
    same = align("--fixed-fov", "45", "--moving-fov", "45")
    assert same.returncode == 0 and (tmp_path / "t.h5").exists(), same.stderr
