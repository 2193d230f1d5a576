"""Benchmark pairs as real ones arise (see `eye_model`): one eye, two camera poses, each view cut by its aperture.

The source photograph is the view of a camera at rest with the eye, its field of view that of its camera (45° for
DRIVE's Canon CR5). Every other view is rendered from it through the retina, so a view can only show what the source
shows: low-overlap views are narrower than the source (0.55-0.65 of its field) to keep a whole disc of retina each,
and infrared / OCT en-face views are 30° square fields, as scanning-laser devices make them, at the photograph's
scale; other fields and scales are the `scale` category.

Categories: `high_overlap` (>= 75 %), `low_overlap` (20-50 %), `appearance` (high overlap, another visit: lesions,
light, focus), `cross_modal` (high overlap, angiography or a 30° infrared / OCT en-face square against the colour
photograph) and `scale` (a 20-30° square field of another modality, written alone at 0.5-2x the photograph's px per
degree as scanning-laser devices write theirs; the pair gives no field of view, so registration must find the ratio
of the two fields, 0.44-0.67). Overlap is the share of the smaller view's field that both views show.
"""

from __future__ import annotations

import cv2
import numpy as np

from KeypointEngineLib.retina.field_of_view import field_diameter, field_of_view_mask
from KeypointEngineLib.retina.preprocess import to_gray
from KeypointEvaluationLib.retina.eye_model import Eye, EyeView, EyeWarp, random_eye, rotation
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

# How far the projection centre strays (eye_model): sizes chosen so that the best homography through the truth misses
# by about 1 px at a 3° change of pose and 5 px at 25° (px at 2912 px, 45° field), what FIRE's published homography
# results imply (S AUC 0.94, P 0.78; SuperRetina, Liu et al. 2022). Larger strays (1.5 mm offsets, no recentring)
# would make a homography miss by 8-19 px, far worse than real pairs show.
PUPIL_OFFSET_MM = 0.25
RECENTRING = (0.3, 0.7)
TORSION_DEGREES = 5.0
ZOOM = (0.96, 1.04)  # field of view of a repeat photograph against the first
SCANNING_FIELD_DEGREES = 30.0  # a cross-modal infrared / OCT en-face field, as users know their device's
SCALE_FIELD_DEGREES = (20.0, 30.0)  # the scale category's square fields, not told to the registration
SCALE_FACTORS = (0.5, 2.0)  # and their px per degree against the photograph's (resolution), drawn log-uniformly


def source_view(image: np.ndarray, field_of_view_degrees: float) -> tuple[EyeView, np.ndarray]:
    """The source photograph's camera (at rest with the eye, its aperture the photograph's disc) and its field mask."""
    fov = field_of_view_mask(to_gray(image)) > 0
    ys, xs = np.nonzero(fov)
    diameter = field_diameter(fov)
    return EyeView(np.eye(3), (0.0, 0.0), field_of_view_degrees, (float(xs.mean()), float(ys.mean())), diameter), fov


def render(image: np.ndarray, fov: np.ndarray, eye: Eye, source: EyeView, view: EyeView) -> tuple[np.ndarray,
                                                                                                       np.ndarray]:
    """What `view` photographs of the retina the source shows: the image and where it shows retina."""
    shape = image.shape[:2]
    grid = pixel_grid(shape)
    in_source = EyeWarp(eye, view, source).moving_to_fixed(grid)
    shown = remap(fov.astype(np.uint8), in_source, shape, nearest=True).astype(bool)
    shown &= view.in_aperture(grid).reshape(shape)
    rendered = remap(image, in_source, shape)
    rendered[~shown] = 0
    return rendered, shown


def _visible(image: np.ndarray) -> np.ndarray:
    return (image if image.ndim == 2 else image.max(axis=2)) > 0


def _random_offset(rng: np.random.Generator) -> tuple[float, float]:
    radius, angle = PUPIL_OFFSET_MM * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
    return float(radius * np.cos(angle)), float(radius * np.sin(angle))


def _narrow(source: EyeView, field_degrees: float) -> float:
    """The aperture (px) of a `field_degrees` view with the source's focal length (px per unit tangent; nearly the
    source's px per degree near the centre)."""
    return source.aperture_diameter_px * np.tan(np.deg2rad(field_degrees) / 2) / np.tan(
        np.deg2rad(source.field_of_view_degrees) / 2)


def _views(category: str, modality: str, source: EyeView, rng: np.random.Generator) -> tuple[EyeView, EyeView]:
    """A fixed and a moving view of `category`: the source's own camera as the fixed one unless low overlap."""
    centre, field = source.aperture_centre_px, source.field_of_view_degrees
    direction = rng.uniform(0, 2 * np.pi)
    if category == "low_overlap":
        narrow = field * rng.uniform(0.55, 0.65)
        gaze = rng.uniform(0.45, 0.75) * narrow  # between the two views, split on opposite sides of the source
        share = rng.uniform(0.4, 0.6)
        fixed = EyeView(rotation(gaze * share, direction, rng.uniform(-TORSION_DEGREES, TORSION_DEGREES)),
                        _random_offset(rng), narrow, centre, _narrow(source, narrow),
                        recentring=rng.uniform(*RECENTRING))
        moving = EyeView(rotation(gaze * (1 - share), direction + np.pi, rng.uniform(-TORSION_DEGREES,
                                                                                      TORSION_DEGREES)),
                         _random_offset(rng), narrow, centre, _narrow(source, narrow),
                         recentring=rng.uniform(*RECENTRING))
        return fixed, moving
    square = modality in ("infrared", "oct_enface") or category == "scale"
    # another photograph of the same field is a little zoomed (refocusing, working distance); a scanning-laser field is
    # a 30° square (infrared SLO), at most the square inscribed in the photograph's disc, or in the scale category a
    # 20-30° square (the scanning-laser devices' infrared, angiography and OCT en-face fields)
    moving_field = field * rng.uniform(*ZOOM)
    if category == "scale":
        moving_field = rng.uniform(*SCALE_FIELD_DEGREES)
    elif square:
        inscribed = np.rad2deg(2 * np.arctan(np.tan(np.deg2rad(field) / 2) / np.sqrt(2)))
        moving_field = min(SCANNING_FIELD_DEGREES, inscribed)
    gaze = rng.uniform(0.0, 0.05 if category == "scale" else 0.12) * field
    moving = EyeView(rotation(gaze, direction, rng.uniform(-TORSION_DEGREES, TORSION_DEGREES)), _random_offset(rng),
                     moving_field, centre, _narrow(source, moving_field), square=square,
                     recentring=rng.uniform(*RECENTRING))
    return source, moving


def make_eye_pair(image: np.ndarray, category: str, rng: np.random.Generator, source: str = "",
                  field_of_view_degrees: float = 45.0) -> BenchmarkPair:
    """One pair of `category` from one real colour fundus photograph taken with a `field_of_view_degrees` camera."""
    if category not in OVERLAP_RANGES:
        raise ValueError(f"Unknown category {category!r}; choose from {', '.join(OVERLAP_RANGES)}.")
    shape = image.shape[:2]
    rest, fov = source_view(image, field_of_view_degrees)
    modality = cross_modality(rng) if category in ("cross_modal", "scale") else "colour"
    low, high = OVERLAP_RANGES[category]
    grid = pixel_grid(shape)
    for _ in range(200):
        eye = random_eye(rng)
        fixed_view, moving_view = _views(category, modality, rest, rng)
        fixed, fixed_shown = (image.copy(), fov) if fixed_view is rest else render(image, fov, eye, rest, fixed_view)
        moving, moving_shown = render(image, fov, eye, rest, moving_view)
        truth = EyeWarp(eye, moving_view, fixed_view)
        in_fixed = truth.moving_to_fixed(grid)
        inside = ((in_fixed >= 0) & (in_fixed <= np.array(shape[::-1]) - 1)).all(axis=1).reshape(shape)
        both = moving_shown & inside & remap(fixed_shown.astype(np.uint8), in_fixed, shape, nearest=True).astype(bool)
        overlap = both.sum() / max(min(moving_shown.sum(), fixed_shown.sum()), 1)
        if low <= overlap <= high and both.sum() > 100:
            break
    else:
        raise RuntimeError(f"Could not draw a {category} pair for {source}.")
    fixed[~fixed_shown] = 0
    moving = change_appearance(moving, category, modality, rng)
    moving[~moving_shown] = 0
    # control points where both images show retina, as an observer places them: not on the black a view's rim may be
    both &= _visible(moving) & remap(_visible(fixed).astype(np.uint8), in_fixed, shape, nearest=True).astype(bool)
    moving_points = control_points(both, rng)
    # FIRE's 2912 px span a 45° field: a narrow view keeps the source's focal length, so it scales like the source
    fire_scale = FIRE_FOV_PX / (2 * fixed_view.focal_px * np.tan(np.deg2rad(45.0) / 2))
    # what a user would tell the registration: the camera's field for both photographs (a repeat photograph's zoom is
    # unknown to them), the device's for a scanning-laser field
    fields = (fixed_view.field_of_view_degrees, moving_view.field_of_view_degrees if moving_view.square else
              fixed_view.field_of_view_degrees)
    moving_to_fixed = truth.moving_to_fixed
    if category == "scale":  # the square alone at another device's px per degree; fields of view not given
        moving, origin, factor = _as_scanned(moving, moving_view, rng)
        moving_points = (moving_points - origin + 0.5) * factor - 0.5
        fields = (None, None)

        def moving_to_fixed(points, inner=truth.moving_to_fixed):
            return inner((np.asarray(points, np.float64) + 0.5) / factor - 0.5 + origin)
    return BenchmarkPair(category, source, fixed, moving, moving_to_fixed(moving_points), moving_points, fire_scale,
                         modality, fields, float(overlap), moving_to_fixed)


def _as_scanned(moving: np.ndarray, view: EyeView, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray,
                                                                                      np.ndarray]:
    """A square view as a scanning-laser device writes it: the square alone, resampled to other px per degree.
    Returns the image, the square's origin in the render (x, y) and the factors (scanned px per rendered px, x, y)."""
    half = view.aperture_diameter_px / 2
    (left, right), (top, bottom) = ((max(int(np.ceil(c - half)), 0), int(np.floor(c + half)) + 1)
                                    for c in view.aperture_centre_px)  # the pixels the square holds
    square = moving[top:bottom, left:right]
    drawn = float(np.exp(rng.uniform(*np.log(SCALE_FACTORS))))
    size = max(64, round(square.shape[1] * drawn)), max(64, round(square.shape[0] * drawn))
    scanned = cv2.resize(square, size, interpolation=cv2.INTER_AREA if drawn < 1 else cv2.INTER_LINEAR)
    return scanned, np.array([left, top], np.float64), np.array(size, np.float64) / square.shape[1::-1]
