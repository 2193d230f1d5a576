"""What every benchmark pair is: two images, control points on both, and the scale to FIRE's 2912-px field of view;
with the helpers the pair makers share (resampling, well-spread control points, appearance and modality changes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from KeypointEvaluationLib.retina import appearance

FIRE_FOV_PX = 2912.0
CONTROL_POINTS = 10
# the share of the smaller view's field both views show, per category
OVERLAP_RANGES = {"high_overlap": (0.75, 1.0), "low_overlap": (0.2, 0.5), "appearance": (0.75, 1.0),
                  "cross_modal": (0.75, 1.0), "scale": (0.75, 1.0), "real_fa": (0.75, 1.0)}


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
    # what a user would tell the registration: each image's field of view in degrees, None where unknown
    fields_of_view: tuple[float | None, float | None] = (45.0, 45.0)
    overlap: float = float("nan")  # share of the smaller view's field that both views show (synthetic pairs)
    truth: Callable[[np.ndarray], np.ndarray] | None = None  # moving px -> fixed px (synthetic pairs)


def control_points(overlap: np.ndarray, rng: np.random.Generator, count: int = CONTROL_POINTS) -> np.ndarray:
    """Well-spread points in the overlap: farthest-point sampling from random candidates."""
    ys, xs = np.nonzero(overlap)
    candidates = np.c_[xs, ys][rng.choice(len(xs), size=min(400, len(xs)), replace=False)].astype(float)
    chosen = [candidates[0]]
    distance = np.linalg.norm(candidates - chosen[0], axis=1)
    for _ in range(count - 1):
        chosen.append(candidates[int(np.argmax(distance))])
        distance = np.minimum(distance, np.linalg.norm(candidates - chosen[-1], axis=1))
    return np.array(chosen)


def remap(image: np.ndarray, points: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """image sampled at `points` (rows * cols, 2) px laid out on a `shape` grid; black outside (and where NaN)."""
    maps = [np.nan_to_num(points[:, i], nan=-1e6).reshape(shape).astype(np.float32) for i in range(2)]
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT)


def pixel_grid(shape: tuple[int, int]) -> np.ndarray:
    """Every pixel's (x, y), row by row: (rows * cols, 2)."""
    rows, cols = shape
    return np.stack(np.meshgrid(np.arange(cols), np.arange(rows)), axis=-1).reshape(-1, 2).astype(np.float64)


def cross_modality(rng: np.random.Generator) -> str:
    """The other modality of a cross-modal pair: angiography twice as often as infrared or OCT en-face."""
    return str(rng.choice(["angiography", "angiography", "infrared", "oct_enface"]))


def change_appearance(moving: np.ndarray, category: str, modality: str, rng: np.random.Generator) -> np.ndarray:
    """The moving view as the category sees it: another visit (lesions, light, focus), another modality, or another
    exposure."""
    if category == "appearance":
        moving = appearance.lesions(moving, rng, count=int(rng.integers(6, 20)))
        moving = appearance.illumination_falloff(moving, rng, strength=0.6)
        moving = appearance.blur(moving, rng.uniform(0.0005, 0.002))
        return appearance.photometric(moving, rng, amount=1.0)
    if modality in appearance.MODALITIES:
        return appearance.MODALITIES[modality](moving, rng)
    if category == "real_fa":  # a real angiogram seen again: another exposure and focus (phase changes not simulated)
        return appearance.blur(appearance.photometric(moving, rng, amount=1.0), rng.uniform(0.0, 0.001))
    return appearance.photometric(moving, rng, amount=0.5)
