"""The benchmark's checks on real pairs: forward-backward consistency and wrong-eye pairs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_DATA

from KeypointEngineLib.fitting import GeometricModel
from KeypointEngineLib.retina.pipeline import register_with_features
from KeypointEvaluationLib.retina.real_checks import forward_backward_px, real_pairs, run_checks, summarise
from KeypointMRMLLib.images2d import read_image_2d


def _disc(size=200):
    y, x = np.mgrid[0:size, 0:size]
    return (((x - size / 2) ** 2 + (y - size / 2) ** 2) < (0.45 * size) ** 2).astype(np.uint8) * 150


def _shift(dx, dy):
    matrix = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1.0]])
    return GeometricModel("affine", matrix, np.linalg.inv(matrix))


def test_forward_backward_is_zero_for_inverse_models_and_scaled_to_fire_otherwise():
    image = _disc()
    assert forward_backward_px(_shift(10, 5), _shift(-10, -5), image, image) == pytest.approx(0.0, abs=1e-9)
    diameter = 2 * np.sqrt((image > 0).sum() / np.pi)
    missed = forward_backward_px(_shift(10, 5), _shift(-7, -1), image, image)
    assert missed == pytest.approx(5.0 * 2912 / diameter, rel=0.02)
    assert forward_backward_px(None, _shift(0, 0), image, image) == float("inf")
    assert forward_backward_px(_shift(500, 0), _shift(-500, 0), image, image) == float("inf")  # no shared field


def test_real_pairs_are_listed_only_when_present(tmp_path):
    assert real_pairs(tmp_path) == []
    chase = tmp_path / "fundus" / "CHASEDB1"
    chase.mkdir(parents=True)
    for name in ("Image_01L.jpg", "Image_01R.jpg", "Image_02L.jpg"):
        (chase / name).write_bytes(b"")
    pairs = real_pairs(tmp_path)
    assert [(pair.name, pair.same_eye) for pair in pairs] == [("CHASE_DB1 01 left / right eye", False)]


def test_default_registration_is_never_confident_on_real_wrong_eye_pairs():
    pairs = [pair for pair in real_pairs(SHARED_DATA) if not pair.same_eye]
    if not pairs:
        pytest.skip("no wrong-eye pair images in the data folder")
    # the first of each kind; the left / right pairs a looser rule once called confident (05, 13) and the one on
    # which a chance consensus agreed best (04: 207 inliers, 17 % of the matches)
    chosen = []
    for prefix in ("CHASE", "DRIVE", "IR", "CHASE_DB1 04 ", "CHASE_DB1 05 ", "CHASE_DB1 13 "):
        found = next((pair for pair in pairs if pair.name.startswith(prefix)), None)
        if found is not None and found not in chosen:
            chosen.append(found)
    def register(fixed, moving, fixed_fov, moving_fov):  # the shipped default
        return register_with_features(fixed, moving, "auto", fixed_fov_degrees=fixed_fov, moving_fov_degrees=moving_fov)

    read = lambda path: read_image_2d(path).array[0]  # noqa: E731
    results = run_checks(register, chosen, read)
    # and with fields of view unknown, the default: its scale search tries every factor on the hardest two
    hardest = [pair for pair in chosen if pair.name.startswith(("CHASE_DB1 04 ", "CHASE_DB1 13 "))]
    results += run_checks(register, hardest, read, fields_known=False)
    assert summarise(results)["wrong_eye_confident"] == 0, [(r.name, r.confident) for r in results]


def test_real_angiograms_split_into_held_out_and_training_frames_apart_from_the_checks():
    from KeypointEvaluationLib.retina.angiograms import CHECKED, benchmark_angiograms, training_angiograms

    if not (SHARED_DATA / "fundus-modalities" / "fa").is_dir():
        pytest.skip("no angiograms in the data folder")
    held_out, training = benchmark_angiograms(SHARED_DATA), training_angiograms(SHARED_DATA)
    assert held_out and training and not set(held_out) & set(training)
    assert len(held_out) == pytest.approx(len(held_out + training) / 4, abs=1)
    assert not {path.name for path in held_out + training} & CHECKED
    assert {"JPEGImages_2-1___016.jpg", "JPEGImages_14-1__014.jpg"} <= CHECKED
