"""A FIRE-like synthetic registration benchmark built from real fundus photographs held apart from training.

Each pair: the real photograph is the fixed image; the moving image is what a camera moved by a known warp sees
through its own circular aperture, then changed in appearance or modality. Control points are spread over the overlap
(fixed point = G(moving point)), errors are scaled to a 2912-px field of view as in FIRE, and the FIRE Registration
Score is computed per category. Warp parameters here are the benchmark's own (training draws different ones).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from KeypointEngineLib.fitting import GeometricModel
from KeypointEngineLib.retina import appearance
from KeypointEngineLib.retina.evaluation import pair_error
from KeypointEngineLib.retina.preprocess import field_of_view_mask, to_gray
from KeypointEngineLib.retina.synthetic_warps import centred_disc, random_warp

FIRE_FOV_PX = 2912.0
CATEGORIES = ("high_overlap", "low_overlap", "appearance", "cross_modal")
OVERLAP_RANGES = {"high_overlap": (0.75, 1.0), "low_overlap": (0.2, 0.5), "appearance": (0.75, 1.0),
                  "cross_modal": (0.75, 1.0)}
CONTROL_POINTS = 10


@dataclass
class BenchmarkPair:
    category: str
    source: str
    fixed: np.ndarray
    moving: np.ndarray
    fixed_points: np.ndarray  # (N, 2) px, fixed image
    moving_points: np.ndarray  # (N, 2) px, moving image
    fire_scale: float  # multiply px errors by this to express them on a 2912-px field of view
    modality: str = "colour"


def _overlap(fov_fixed: np.ndarray, aperture: np.ndarray, warp) -> tuple[float, np.ndarray]:
    seen = warp.resample(fov_fixed.astype(np.uint8) * 255, aperture.shape) > 127
    both = seen & aperture
    return both.sum() / min(aperture.sum(), fov_fixed.sum()), both


def _control_points(overlap: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Well-spread points in the overlap: farthest-point sampling from random candidates."""
    ys, xs = np.nonzero(overlap)
    candidates = np.c_[xs, ys][rng.choice(len(xs), size=min(400, len(xs)), replace=False)].astype(float)
    chosen = [candidates[0]]
    distance = np.linalg.norm(candidates - chosen[0], axis=1)
    for _ in range(count - 1):
        chosen.append(candidates[int(np.argmax(distance))])
        distance = np.minimum(distance, np.linalg.norm(candidates - chosen[-1], axis=1))
    return np.array(chosen)


def make_benchmark_pair(image: np.ndarray, category: str, rng: np.random.Generator, source: str = "") -> BenchmarkPair:
    """One pair of `category` from one real colour fundus photograph."""
    fov = field_of_view_mask(to_gray(image)) > 0
    diameter = 2.0 * np.sqrt(fov.sum() / np.pi)
    aperture = centred_disc(image.shape[:2], diameter)
    low, high = OVERLAP_RANGES[category]
    for _ in range(200):
        if category == "low_overlap":
            warp = random_warp(image.shape[:2], rng, rotation_degrees=8, scale=(0.92, 1.08), shift=(0.3, 0.5),
                               tilt=0.02, curvature=0.008)
        else:
            warp = random_warp(image.shape[:2], rng, rotation_degrees=8, scale=(0.9, 1.1), shift=(0.0, 0.06),
                               tilt=0.02, curvature=0.008)
        overlap, both = _overlap(fov, aperture, warp)
        if low <= overlap <= high:
            break
    else:
        raise RuntimeError(f"Could not draw a {category} warp for {source}.")
    moving = warp.resample(image, image.shape[:2])
    modality = "colour"
    if category == "appearance":
        moving = appearance.lesions(moving, rng, count=int(rng.integers(6, 20)))
        moving = appearance.illumination_falloff(moving, rng, strength=0.6)
        moving = appearance.blur(moving, rng.uniform(0.0005, 0.002))
        moving = appearance.photometric(moving, rng, amount=1.0)
    elif category == "cross_modal":
        modality = str(rng.choice(["angiography", "angiography", "infrared", "oct_enface"]))
        moving = appearance.MODALITIES[modality](moving, rng)
    else:
        moving = appearance.photometric(moving, rng, amount=0.5)
    moving[~both] = 0  # nothing outside what the fixed photograph shows
    moving_points = _control_points(both, rng, CONTROL_POINTS)
    return BenchmarkPair(category, source, image, moving, warp.moving_to_fixed(moving_points), moving_points,
                         FIRE_FOV_PX / diameter, modality)


def make_benchmark(images: Sequence[tuple[str, np.ndarray]], pairs_per_category: int, seed: int = 2026,
                   categories: Sequence[str] = CATEGORIES) -> list[BenchmarkPair]:
    """A fixed set of pairs: the same seed and images give the same pairs (sources used in turn)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for category in categories:
        for index in range(pairs_per_category):
            name, image = images[index % len(images)]
            pairs.append(make_benchmark_pair(image, category, rng, name))
    return pairs


Method = Callable[[np.ndarray, np.ndarray], GeometricModel | None]


@dataclass
class MethodResult:
    errors: dict[str, list[float]]  # per category, px on a 2912-px field of view (inf = failed)
    seconds: list[float]


def run_method(method: Method, pairs: Sequence[BenchmarkPair]) -> MethodResult:
    errors: dict[str, list[float]] = {}
    seconds = []
    for pair in pairs:
        start = time.perf_counter()
        model = method(pair.fixed, pair.moving)
        seconds.append(time.perf_counter() - start)
        error = pair_error(model, pair.fixed_points, pair.moving_points) * pair.fire_scale
        errors.setdefault(pair.category, []).append(error)
    return MethodResult(errors, seconds)
