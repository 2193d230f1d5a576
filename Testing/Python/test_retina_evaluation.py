"""FIRE Registration Score, the FIRE folder reader and the synthetic FIRE-like benchmark."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

from KeypointAlignLib.samples import sample_retina_path
from KeypointEngineLib.fitting import GeometricModel
from KeypointEngineLib.retina.field_of_view import field_diameter, field_of_view_mask
from KeypointEngineLib.retina.preprocess import to_gray
from KeypointEvaluationLib.retina.benchmark import CATEGORIES, make_benchmark, make_benchmark_pair
from KeypointEvaluationLib.retina.fire import read_fire_folder
from KeypointEvaluationLib.retina.fire_score import (
    pair_error,
    published_auc,
    published_scores,
    registration_score,
    score_by_category,
    success_curve,
)
from KeypointMRMLLib.images2d import read_image_2d

RETINA = read_image_2d(sample_retina_path()).array[0][::2, ::2].copy()


def test_score_is_the_exact_area_under_the_success_curve():
    assert registration_score([0.0, 12.5, float("inf")]) == pytest.approx((1 + 0.5 + 0) / 3)
    assert registration_score([30.0]) == 0.0
    errors = [0.5, 3.0, 7.0, 24.0, float("inf")]
    thresholds = np.linspace(0, 25, 100001)
    assert registration_score(errors) == pytest.approx(np.trapezoid(success_curve(errors, thresholds), thresholds) / 25,
                                                       abs=1e-4)


def test_scores_per_category_overall_and_mean():
    scores = score_by_category({"S": [0.0, 0.0], "P": [float("inf")], "A": []})
    assert scores["S"] == 1.0 and scores["P"] == 0.0
    assert scores["overall"] == pytest.approx(2 / 3)  # pair-weighted
    assert scores["mean"] == pytest.approx(0.5)  # categories with pairs, equally weighted


def test_published_auc_counts_errors_strictly_below_each_integer_threshold():
    assert published_auc([0.5]) == 1.0
    assert published_auc([1.0]) == pytest.approx(24 / 25)  # not a success at t = 1: error < t
    assert published_auc([10.0, float("inf")]) == pytest.approx((15 / 25 + 0) / 2)
    assert published_auc([25.0]) == 0.0


def test_published_scores_leave_out_p37_and_average_the_categories():
    errors = {"S": [0.0], "P": [0.0, float("inf")], "A": [30.0]}
    ids = {"S": ["S01"], "P": ["P01", "P37"], "A": ["A01"]}
    scores = published_scores(errors, ids)
    assert scores == {"S": 1.0, "P": 1.0, "A": 0.0, "mAUC": pytest.approx(2 / 3)}
    assert published_scores({"S": [0.0]}, {"S": ["S01"]}) == {"S": 1.0, "mAUC": 1.0}


def test_pair_error_maps_moving_points_onto_fixed():
    shift = np.array([[1, 0, 5.0], [0, 1, -2.0], [0, 0, 1]])  # fixed -> moving
    model = GeometricModel("affine", shift, np.linalg.inv(shift))
    fixed = np.array([[10.0, 10.0], [20.0, 30.0]])
    assert pair_error(model, fixed, fixed + [5.0, -2.0]) == pytest.approx(0.0)
    assert pair_error(model, fixed, fixed + [8.0, 2.0]) == pytest.approx(5.0)
    assert pair_error(None, fixed, fixed) == float("inf")


def _write_fire_folder(folder, pairs):
    (folder / "Images").mkdir(parents=True)
    (folder / "Ground Truth").mkdir()
    for pair_id, (fixed, moving, fixed_points, moving_points) in pairs.items():
        sitk.WriteImage(sitk.GetImageFromArray(fixed, isVector=fixed.ndim == 3), str(folder / "Images" /
                                                                                    f"{pair_id}_1.jpg"))
        sitk.WriteImage(sitk.GetImageFromArray(moving, isVector=moving.ndim == 3), str(folder / "Images" /
                                                                                      f"{pair_id}_2.jpg"))
        np.savetxt(folder / "Ground Truth" / f"control_points_{pair_id}_1_2.txt", np.c_[fixed_points, moving_points])


def test_fire_folder_is_read_with_categories_from_ids(tmp_path):
    points = np.array([[1.0, 2.0], [3.0, 4.0]])
    image = np.zeros((8, 8), np.uint8)
    _write_fire_folder(tmp_path, {"S01": (image, image, points, points + 1), "A07": (image, image, points, points)})
    pairs = read_fire_folder(tmp_path)
    assert [(p.id, p.category) for p in pairs] == [("A07", "A"), ("S01", "S")]
    np.testing.assert_array_equal(pairs[1].moving_points, points + 1)
    with pytest.raises(FileNotFoundError, match="not a FIRE folder"):
        read_fire_folder(tmp_path / "Images")


@pytest.mark.parametrize("category", CATEGORIES)
def test_benchmark_pairs_honour_their_category(category):
    pair = make_benchmark_pair(RETINA, category, np.random.default_rng(1), "retina")
    assert pair.category == category and len(pair.fixed_points) == 10
    # control points lie inside what both images show
    fixed_gray, moving_gray = (image if image.ndim == 2 else image.max(axis=2) for image in (pair.fixed, pair.moving))
    assert all(fixed_gray[int(round(y)), int(round(x))] > 0 for x, y in pair.fixed_points)
    assert all(moving_gray[int(y), int(x)] > 0 for x, y in pair.moving_points)
    # errors are scaled as if the source photograph's 45° field spanned 2912 px, narrow views included (they keep its
    # focal length; an exported pair's fixed photograph is the source rescaled, its field found in the export)
    source = pair.fixed if category == "exported" else RETINA
    source_diameter = field_diameter(field_of_view_mask(to_gray(source)))
    assert pair.fire_scale == pytest.approx(2912 / source_diameter, rel=0.03)
    if category == "cross_modal":
        assert pair.moving.ndim == 2 and pair.modality in ("angiography", "infrared", "oct_enface")


def test_benchmark_is_reproducible():
    images = [("retina", RETINA)]
    first, second = make_benchmark(images, 1, seed=5), make_benchmark(images, 1, seed=5)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.moving, b.moving)
        np.testing.assert_array_equal(a.fixed_points, b.fixed_points)


def test_bench_cli_scores_a_fire_folder_and_writes_json_and_plot(tmp_path):
    pairs = {}
    for index, pair_id in enumerate(("S01", "A02", "P37")):
        pair = make_benchmark_pair(RETINA, "high_overlap", np.random.default_rng(index), "retina")
        moving_points = pair.moving_points + (40.0 if pair_id == "P37" else 0.0)  # wrong truth: must be left out
        pairs[pair_id] = (pair.fixed, pair.moving, pair.fixed_points, moving_points)
    _write_fire_folder(tmp_path / "fire", pairs)
    (tmp_path / "card.json").write_text(json.dumps({"name": "m", "metrics": {"validation": 1.0}}))
    command = [sys.executable, "-m", "KeypointCLI", "bench", "align", "--pairs", "1", "--data", str(tmp_path),
               "--fire", str(tmp_path / "fire"), "--json", str(tmp_path / "bench.json"), "--plot",
               str(tmp_path / "curves.png"), "--backends", "sift", "--card", str(tmp_path / "card.json")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "sift+auto" in result.stdout and "published protocol" in result.stdout and "mAUC" in result.stdout
    report = json.loads((tmp_path / "bench.json").read_text())
    fire = report["fire"]["sift+auto"]
    assert fire["scores"]["S"] > 0.8 and fire["ids"]["P"] == ["P37"] and fire["errors"]["P"][0] > 20
    assert set(fire["published"]) == {"S", "A", "mAUC"}  # P37 was the only P pair
    assert fire["published"]["mAUC"] == pytest.approx((fire["published"]["S"] + fire["published"]["A"]) / 2)
    assert set(report["synthetic"]["sift+homography"]["scores"]) >= set(CATEGORIES) - {"real_fa"}  # no angiograms
    assert (tmp_path / "curves.png").stat().st_size > 5000
    recorded = json.loads((tmp_path / "card.json").read_text())["metrics"]
    assert recorded["validation"] == 1.0  # kept
    benchmark = recorded["registration_benchmark"]
    assert benchmark["fire"]["sift+auto"]["scores"]["S"] == report["fire"]["sift+auto"]["scores"]["S"]
    assert benchmark["command"].startswith("slicer-keypoints bench align") and benchmark["peak_rss_mib"] > 0


def test_oct_en_face_is_a_raster_scan_sharp_along_its_b_scans_with_vessels_in_shadow():
    """The simulation follows the acquisition: B-scans along rows (fast axis) are sampled more finely than the
    B-scans are stacked (slow axis), so neighbouring px differ more along a row than down a column; vessels are
    dark."""
    from KeypointEvaluationLib.retina.appearance import to_oct_enface, vessels_and_background

    photograph = read_image_2d(sample_retina_path()).array[0]
    vessels, _, mask = vessels_and_background(photograph)
    inner = mask & np.roll(mask, 1, 0) & np.roll(mask, 1, 1)
    ratios = []
    for seed in range(6):
        enface = to_oct_enface(photograph, np.random.default_rng(seed)).astype(np.float64)
        assert enface.ndim == 2 and (enface[~mask] == 0).all()
        along_rows = np.abs(np.diff(enface, axis=1))[inner[:, 1:]].mean()
        down_columns = np.abs(np.diff(enface, axis=0))[inner[1:, :]].mean()
        ratios.append(along_rows / down_columns)
        assert enface[mask & (vessels > 0.5)].mean() < enface[mask & (vessels < 0.05)].mean() - 10
    assert np.median(ratios) > 1.1
