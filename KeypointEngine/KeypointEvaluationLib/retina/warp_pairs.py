"""The first benchmark's pairs, kept as a labelled category: a homography after a mild second-order term.

Gentler than real eyes (see `eye_model`): with it, a homography looks good enough even at low overlap.
"""

from __future__ import annotations

import numpy as np

from KeypointEngineLib.retina.field_of_view import field_diameter, field_of_view_mask
from KeypointEngineLib.retina.preprocess import to_gray
from KeypointEvaluationLib.retina.pair import (
    FIRE_FOV_PX,
    OVERLAP_RANGES,
    BenchmarkPair,
    change_appearance,
    control_points,
    cross_modality,
    pixel_grid,
    remap,
)
from KeypointEvaluationLib.retina.synthetic_warps import centred_disc, random_warp


def make_warp_pair(image: np.ndarray, category: str, rng: np.random.Generator, source: str = "") -> BenchmarkPair:
    """One pair of `category` from one real colour fundus photograph (the source).

    Each image is a camera's view of the source through a circular aperture centred in the image, as fundus cameras
    make them. The fixed view is the source itself, except for low overlap, where both cameras see a smaller disc
    (0.55 of the field of view) on opposite sides of the source's centre, so that both images show a whole disc of
    retina while overlapping by 20-50 %. Errors are scaled to 2912 px by that smaller disc, as the first benchmark
    did (its low-overlap figures read about 1.8 times larger than the eye model's, which scale by the focal length).
    """
    if category not in OVERLAP_RANGES:
        raise ValueError(f"Unknown category {category!r}; choose from {', '.join(OVERLAP_RANGES)}.")
    shape = image.shape[:2]
    fov = (field_of_view_mask(to_gray(image)) > 0).astype(np.uint8)
    diameter = field_diameter(fov)
    grid = pixel_grid(shape)
    low, high = OVERLAP_RANGES[category]
    low_overlap = category == "low_overlap"
    aperture_diameter = 0.55 * diameter if low_overlap else diameter
    direction = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(direction), np.sin(direction)])
    offset = rng.uniform(0.1, 0.2) * diameter * direction if low_overlap else np.zeros(2)
    aperture = centred_disc(shape, aperture_diameter)
    fixed_fov = remap(fov, grid + offset, shape, nearest=True).astype(bool) & (aperture | (not low_overlap))
    fixed = remap(image, grid + offset, shape) if low_overlap else image.copy()
    fixed[~fixed_fov] = 0
    for _ in range(200):
        warp = random_warp(shape, rng, rotation_degrees=8, scale=(0.9, 1.1), shift=(0.0, 0.03 if low_overlap else 0.06),
                           tilt=0.02, curvature=0.008)
        moving_offset = -rng.uniform(0.1, 0.2) * diameter * direction if low_overlap else np.zeros(2)
        in_source = warp.moving_to_fixed(grid) + moving_offset  # moving px -> source px
        moving_fov = aperture & remap(fov, in_source, shape, nearest=True).astype(bool)
        both = moving_fov & remap(fixed_fov.astype(np.uint8), in_source - offset, shape, nearest=True).astype(bool)
        overlap = both.sum() / max(min(moving_fov.sum(), fixed_fov.sum()), 1)
        if low <= overlap <= high:
            break
    else:
        raise RuntimeError(f"Could not draw a {category} warp for {source}.")
    modality = cross_modality(rng) if category == "cross_modal" else "colour"
    moving = change_appearance(remap(image, in_source, shape), category, modality, rng)
    moving[~moving_fov] = 0
    moving_points = control_points(both, rng)
    fixed_points = warp.moving_to_fixed(moving_points) + moving_offset - offset
    return BenchmarkPair(category, source, fixed, moving, fixed_points, moving_points,
                         FIRE_FOV_PX / aperture_diameter, modality, (45.0, 45.0), float(overlap),
                         lambda points: warp.moving_to_fixed(points) + moving_offset - offset)
