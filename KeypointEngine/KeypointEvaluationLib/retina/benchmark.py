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

import cv2
import numpy as np

from KeypointEngineLib.fitting import GeometricModel
from KeypointEngineLib.retina.preprocess import field_of_view_mask, to_gray
from KeypointEvaluationLib.retina import appearance
from KeypointEvaluationLib.retina.fire_score import pair_error
from KeypointEvaluationLib.retina.synthetic_warps import centred_disc, random_warp

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


def _remap(image: np.ndarray, points: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """image sampled at `points` (rows * cols, 2) px laid out on a `shape` grid; black outside."""
    maps = [points[:, i].reshape(shape).astype(np.float32) for i in range(2)]
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT)


def make_benchmark_pair(image: np.ndarray, category: str, rng: np.random.Generator, source: str = "") -> BenchmarkPair:
    """One pair of `category` from one real colour fundus photograph (the source).

    Each image is a camera's view of the source through a circular aperture centred in the image, as fundus cameras
    make them. The fixed view is the source itself, except for low overlap, where both cameras see a smaller disc
    (0.55 of the field of view) on opposite sides of the source's centre, so that both images show a whole disc of
    retina while overlapping by 20-50 %.
    """
    shape = image.shape[:2]
    fov = (field_of_view_mask(to_gray(image)) > 0).astype(np.uint8)
    diameter = 2.0 * np.sqrt(fov.sum() / np.pi)
    rows, cols = shape
    grid = np.stack(np.meshgrid(np.arange(cols), np.arange(rows)), axis=-1).reshape(-1, 2).astype(np.float64)
    low, high = OVERLAP_RANGES[category]
    low_overlap = category == "low_overlap"
    aperture_diameter = 0.55 * diameter if low_overlap else diameter
    direction = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(direction), np.sin(direction)])
    offset = rng.uniform(0.1, 0.2) * diameter * direction if low_overlap else np.zeros(2)
    aperture = centred_disc(shape, aperture_diameter)
    fixed_fov = _remap(fov, grid + offset, shape, nearest=True).astype(bool) & (aperture | (not low_overlap))
    fixed = _remap(image, grid + offset, shape) if low_overlap else image.copy()
    fixed[~fixed_fov] = 0
    for _ in range(200):
        warp = random_warp(shape, rng, rotation_degrees=8, scale=(0.9, 1.1), shift=(0.0, 0.03 if low_overlap else 0.06),
                           tilt=0.02, curvature=0.008)
        moving_offset = -rng.uniform(0.1, 0.2) * diameter * direction if low_overlap else np.zeros(2)
        in_source = warp.moving_to_fixed(grid) + moving_offset  # moving px -> source px
        moving_fov = aperture & _remap(fov, in_source, shape, nearest=True).astype(bool)
        both = moving_fov & _remap(fixed_fov.astype(np.uint8), in_source - offset, shape, nearest=True).astype(bool)
        overlap = both.sum() / max(min(moving_fov.sum(), fixed_fov.sum()), 1)
        if low <= overlap <= high:
            break
    else:
        raise RuntimeError(f"Could not draw a {category} warp for {source}.")
    moving = _remap(image, in_source, shape)
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
    moving[~moving_fov] = 0
    moving_points = _control_points(both, rng, CONTROL_POINTS)
    fixed_points = warp.moving_to_fixed(moving_points) + moving_offset - offset
    return BenchmarkPair(category, source, fixed, moving, fixed_points, moving_points,
                         FIRE_FOV_PX / aperture_diameter, modality)


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
    ids: dict[str, list[str]]  # per category, each pair's source (a FIRE pair's ID), in the order of `errors`
    seconds: list[float]


def run_method(method: Method, pairs: Sequence[BenchmarkPair]) -> MethodResult:
    errors: dict[str, list[float]] = {}
    ids: dict[str, list[str]] = {}
    seconds = []
    for pair in pairs:
        start = time.perf_counter()
        model = method(pair.fixed, pair.moving)
        seconds.append(time.perf_counter() - start)
        error = pair_error(model, pair.fixed_points, pair.moving_points) * pair.fire_scale
        errors.setdefault(pair.category, []).append(error)
        ids.setdefault(pair.category, []).append(pair.source)
    return MethodResult(errors, ids, seconds)
