"""A FIRE-like synthetic registration benchmark built from real fundus photographs held apart from training.

Each pair: two views of one real photograph's retina, made with the eye model (`eye_pairs`: a curved retina seen through
the pupil from two poses, each view cut by its own aperture), then changed in appearance or modality, or scale (`scale`:
a scanning-laser field at 0.5-2x the photograph's px per degree, fields of view not given), or exported with frames and
stamps (`exported`, see exported.py); `real_fa` pairs are views of real angiograms held out from training
(angiograms.py), so real angiographic appearance meets the synthetic geometry; the first benchmark's warps
(`warp_pairs`) stay as the labelled category `legacy_warp`, and the whole first benchmark runs with `geometry="legacy"`.
Control points are spread over the overlap (fixed point = truth(moving point)), errors are scaled to a 2912-px field of
view as in FIRE, and the FIRE Registration Score is computed per category. The benchmark's draws are its own (training
draws different ones).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from KeypointEngineLib.registration import Registration
from KeypointEvaluationLib.retina.exported import export_pair
from KeypointEvaluationLib.retina.eye_pairs import make_eye_pair
from KeypointEvaluationLib.retina.fire_score import pair_error
from KeypointEvaluationLib.retina.pair import FIRE_FOV_PX, BenchmarkPair
from KeypointEvaluationLib.retina.warp_pairs import make_warp_pair

LEGACY_CATEGORIES = ("high_overlap", "low_overlap", "appearance", "cross_modal")
# eye-model geometry; other modalities at other scales, fields of view not given; high-overlap pairs as viewers and
# figures export them; the first benchmark's warps, labelled
# new ones last: earlier draws stay as they were; real_fa is made from real angiograms (angiograms.py), when present
CATEGORIES = (*LEGACY_CATEGORIES, "legacy_warp", "scale", "exported", "real_fa")
GEOMETRIES = ("eye", "legacy")

__all__ = ["CATEGORIES", "FIRE_FOV_PX", "GEOMETRIES", "LEGACY_CATEGORIES", "BenchmarkPair", "make_benchmark",
           "make_benchmark_pair", "run_method"]


def make_benchmark_pair(image: np.ndarray, category: str, rng: np.random.Generator, source: str = "",
                        geometry: str = "eye") -> BenchmarkPair:
    """One pair of `category` from one real colour fundus photograph (a real angiogram for real_fa; 45° field of view
    assumed)."""
    if geometry == "legacy":
        return make_warp_pair(image, category, rng, source)
    if category == "legacy_warp":
        pair = make_warp_pair(image, "high_overlap", rng, source)
        pair.category = category
        return pair
    if category == "exported":
        return export_pair(make_eye_pair(image, "high_overlap", rng, source), rng, category)
    pair = make_eye_pair(image, category, rng, source)
    if category == "real_fa":
        pair.modality = "angiography"  # both views: a real angiogram and a view of it
    return pair


def make_benchmark(images: Sequence[tuple[str, np.ndarray]], pairs_per_category: int, seed: int = 2026,
                   categories: Sequence[str] | None = None, geometry: str = "eye",
                   angiograms: Sequence[tuple[str, np.ndarray]] = ()) -> list[BenchmarkPair]:
    """A fixed set of pairs: the same seed, images and geometry give the same pairs (sources used in turn). The
    real_fa category is made from `angiograms` (real ones held out from training) and left out without them."""
    if geometry not in GEOMETRIES:
        raise ValueError(f"Unknown geometry {geometry!r}; choose from {', '.join(GEOMETRIES)}.")
    rng = np.random.default_rng(seed)
    pairs = []
    for category in categories or (CATEGORIES if geometry == "eye" else LEGACY_CATEGORIES):
        sources = angiograms if category == "real_fa" else images
        for index in range(pairs_per_category if len(sources) else 0):
            name, image = sources[index % len(sources)]
            pairs.append(make_benchmark_pair(image, category, rng, name, geometry))
    return pairs


EVIDENCE = ("model", "inliers", "inlier_ratio", "residual_share", "predicted_error_px", "overlap_coverage",
            "scale_factor")  # report fields kept
RIGHT_PX = 5.0  # a registration is right when its mean control-point error is at most this (px, 2912-px field)

# (fixed, moving, fixed and moving field of view in degrees or None) -> registration
Method = Callable[[np.ndarray, np.ndarray, float | None, float | None], Registration]


@dataclass
class MethodResult:
    errors: dict[str, list[float]]  # per category, px on a 2912-px field of view (inf = failed)
    ids: dict[str, list[str]]  # per category, each pair's source (a FIRE pair's ID), in the order of `errors`
    confident: dict[str, list[bool]]  # per category, what the registration said of itself
    evidence: dict[str, list[dict]]  # per category, what the confidence stood on (to calibrate it)
    seconds: list[float]


def run_method(method: Method, pairs: Sequence[BenchmarkPair]) -> MethodResult:
    errors: dict[str, list[float]] = {}
    ids: dict[str, list[str]] = {}
    confident: dict[str, list[bool]] = {}
    evidence: dict[str, list[dict]] = {}
    seconds = []
    for pair in pairs:
        start = time.perf_counter()
        registration = method(pair.fixed, pair.moving, *pair.fields_of_view)
        seconds.append(time.perf_counter() - start)
        error = pair_error(registration.model, pair.fixed_points, pair.moving_points) * pair.fire_scale
        errors.setdefault(pair.category, []).append(error)
        ids.setdefault(pair.category, []).append(pair.source)
        confident.setdefault(pair.category, []).append(bool(registration.report.confident))
        report = registration.report
        evidence.setdefault(pair.category, []).append({key: getattr(report, key) for key in EVIDENCE})
    return MethodResult(errors, ids, confident, evidence, seconds)


def confidence_figures(errors: dict[str, list[float]], confident: dict[str, list[bool]]) -> dict[str, float]:
    """How far `confident` can be trusted over every pair: precision (confident ones that are right) and recall
    (right ones called confident), right meaning a mean control-point error of at most RIGHT_PX."""
    right = np.array([error <= RIGHT_PX for category in errors for error in errors[category]])
    said = np.array([flag for category in errors for flag in confident[category]])
    return {"precision": float((right & said).sum() / said.sum()) if said.any() else float("nan"),
            "recall": float((right & said).sum() / right.sum()) if right.any() else float("nan"),
            "confident": int(said.sum()), "right": int(right.sum()), "pairs": int(right.size)}
