"""Retinal pair registration (paper 002): preprocess -> extract features -> the engine's registration step (match,
robust model fit, guided re-matching, subpixel refinement of the inliers by template matching, report).

Every backend plugs in as an extractor with `extract(image, mask) -> Features` at working scale. Inputs are pixel
arrays [rows, cols(, channels)]; all points and models are in original-image pixels (x = column, y = row).
"""

from __future__ import annotations

import time

import numpy as np

from KeypointEngineLib.features import Features
from KeypointEngineLib.fitting import Fit, Fitter
from KeypointEngineLib.jobs import Job, as_job
from KeypointEngineLib.refinement import refine_correspondences
from KeypointEngineLib.registration import ConfidenceRule, Registration, register_features
from KeypointEngineLib.retina.backends import RETINA_BACKENDS
from KeypointEngineLib.retina.confidence import CONFIDENCE, fire_scale, overlap_coverage, predicted_error_px
from KeypointEngineLib.retina.parameters import (
    AUTO_BACKENDS,
    FEATURE_BACKENDS,
    FIELD_OF_VIEW,
    RATIO_TEST,
    SCALE_SEARCH,
    TRANSFORM_MODELS,
    WORKING_SIZE,
    check_options,
    fields_of_view,
)
from KeypointEngineLib.retina.preprocess import Field, Prepared, find_field, prepare

RANSAC_THRESHOLD_WORKING_PX = 3.0
GUIDED_RADIUS_WORKING_PX = 8.0  # search radius around a first transform's prediction when refining it


def register_pair(fixed_image: np.ndarray | Field, moving_image: np.ndarray | Field, model: str = TRANSFORM_MODELS[0],
                  extractor=None, working_size: int = WORKING_SIZE.default, fov_degrees: float | None = None,
                  ratio: float = RATIO_TEST.default, subpixel: bool = True, job: Job | None = None,
                  fixed_fov_degrees: float | None = None, moving_fov_degrees: float | None = None) -> Registration:
    """Register `moving_image` onto `fixed_image` (pixel arrays, or their preprocess.Field found before) with one
    keypoint backend (SIFT unless `extractor` is given); a failure is reported (success False), not raised.

    Fields of view in degrees: `fov_degrees` for both images, `fixed_fov_degrees` / `moving_fov_degrees` for one.
    An unknown one is taken as 45°, and then the moving image's working scale is searched (SCALE_SEARCH, 0.42-2.4x)
    until a registration is confident; otherwise the result at the fields of view given or assumed is kept. With
    `subpixel`, the inliers of the final fit are located again by template matching on the working images and the
    model fitted to them (see refinement.py).
    """
    job, start = as_job(job), time.perf_counter()
    check_options(model, working_size=working_size, fov_degrees=fov_degrees, ratio=ratio,
                  fixed_fov_degrees=fixed_fov_degrees, moving_fov_degrees=moving_fov_degrees)
    fixed_fov, moving_fov = fields_of_view(fov_degrees, fixed_fov_degrees, moving_fov_degrees)
    extractor = extractor or RETINA_BACKENDS.get(AUTO_BACKENDS[0])
    job.report("Preparing images", 0.0)
    fixed = prepare(fixed_image, working_size, fixed_fov or FIELD_OF_VIEW.default)
    moving_field = moving_image if isinstance(moving_image, Field) else find_field(moving_image)  # once per scale
    job.report("Detecting keypoints", 0.1)
    fixed_features = _to_original(extractor.extract(fixed.image, fixed.mask), fixed)
    factors = (1.0,) if fixed_fov and moving_fov else SCALE_SEARCH
    tried = []
    # progress: the fields of view's own scale takes most of the bar (it mostly settles the pair), the search the rest
    bounds = np.r_[0.3, np.linspace(0.8, 1.0, len(factors))] if len(factors) > 1 else np.array([0.3, 1.0])
    for index, factor in enumerate(factors):
        tried.append(_register_at_scale(fixed, fixed_features, moving_field, fixed_fov or FIELD_OF_VIEW.default,
                                        (moving_fov or FIELD_OF_VIEW.default) * factor, factor != 1.0, model,
                                        extractor, working_size, ratio, subpixel,
                                        job.scaled(bounds[index], bounds[index + 1])))
        tried[-1].report.scale_factor = factor
        if tried[-1].report.confident:
            break
    # a search that found nothing confident leaves the fields of view's own result: its other scales' chance fits
    # (many tries find some) are no better
    registration = tried[-1] if tried[-1].report.confident else tried[0]
    job.report("Fitting the transform", 1.0)
    registration.report.seconds = time.perf_counter() - start
    registration.report.device = str(extractor.device)
    return registration


def best_of(tried: list[Registration]) -> Registration:
    """The first confident registration, else the successful one with the most inliers, else the last failure."""
    confident = [registration for registration in tried if registration.report.confident]
    successful = [registration for registration in tried if registration.report.success]
    return (confident[0] if confident else
            max(successful, key=lambda registration: registration.report.inliers) if successful else tried[-1])


def _register_at_scale(fixed: Prepared, fixed_features: Features, moving_field: Field, fixed_fov: float,
                       moving_fov: float, searched: bool, model: str, extractor, working_size: int, ratio: float,
                       subpixel: bool, job: Job) -> Registration:
    """One try: the moving image prepared as if its field of view were `moving_fov` degrees (`searched`: a factor
    of the scale search, not the fields' own)."""
    job.report("Detecting keypoints", 0.0)
    moving = prepare(moving_field, working_size, moving_fov)
    moving_features = _to_original(extractor.extract(moving.image, moving.mask), moving)
    fitter = Fitter(model, 2, threshold=RANSAC_THRESHOLD_WORKING_PX / moving.scale,
                    reference_size=np.pi * (fixed.roi_diameter / 2) ** 2)
    refine = _subpixel_refiner(fixed, moving) if subpixel else None
    registration = register_features(fixed_features, moving_features, fitter,
                                     ConfidenceRule(CONFIDENCE.min_inliers, CONFIDENCE.min_inlier_ratio), ratio=ratio,
                                     guided_radius=GUIDED_RADIUS_WORKING_PX / moving.scale, refine=refine,
                                     job=job.scaled(0.5, 1.0))
    _assess(registration, fitter.threshold, fixed_features.keypoints.astype(np.float64), fixed, moving, fixed_fov,
            moving_fov, searched)
    return registration


def register_with_features(fixed_image: np.ndarray, moving_image: np.ndarray, features: str = FEATURE_BACKENDS[0],
                           device: str | None = None, **options) -> Registration:
    """register_pair with the backend named `features`, from the engine's pool on `device`; with "auto", with each
    of AUTO_BACKENDS in turn until a registration is confident, keeping otherwise the successful one with the most
    inliers (or the last failure). A model loads only when a pair needs it; `options` go to register_pair. The
    report's seconds cover every try."""
    check_options(features=features)  # and register_pair the others, before any work
    if device is not None:
        from KeypointEngineLib.device import choose_device

        device = choose_device(device)  # an absent GPU is an error whichever backend would run
    start, tried = time.perf_counter(), []
    fixed_field, moving_field = find_field(fixed_image), find_field(moving_image)  # once for every backend tried
    for name in AUTO_BACKENDS if features == "auto" else (features,):
        tried.append(register_pair(fixed_field, moving_field, extractor=RETINA_BACKENDS.get(name, device),
                                   **options))
        if tried[-1].report.confident:
            break
    chosen = best_of(tried)
    chosen.report.seconds = time.perf_counter() - start
    return chosen


def _assess(registration: Registration, threshold: float, fixed_keypoints: np.ndarray, fixed: Prepared,
            moving: Prepared, fixed_fov: float, moving_fov: float, searched: bool = False) -> None:
    """The retina's confidence (confidence.py) in place of the count rule, with its reasons in the message.

    Errors are scaled to FIRE's field through the moving image's field of view; at a searched scale, also through
    the fixed image's and the inliers' own px ratio, and the larger counts: a fit found at a wrong searched scale
    would otherwise look as precise as that scale is coarse."""
    report = registration.report
    if not report.success:
        return
    scale = fire_scale(moving.roi_diameter, moving_fov)
    if searched:
        fixed_per_moving_px = (registration.fixed_points.std(axis=0).sum()
                               / max(registration.moving_points.std(axis=0).sum(), 1e-9))
        scale = max(scale, fire_scale(fixed.roi_diameter, fixed_fov) * fixed_per_moving_px)
    report.predicted_error_px = predicted_error_px(registration, threshold, scale)
    report.overlap_coverage = overlap_coverage(registration, fixed_keypoints, fixed, moving)
    report.residual_share = report.median_residual / threshold
    reasons = CONFIDENCE.reasons(registration)
    report.confident = not reasons
    report.message = "; ".join(reasons)


def _subpixel_refiner(fixed: Prepared, moving: Prepared):
    """The registration step's refiner: inliers located to subpixel precision by template matching on the working
    images, through the fit's local linear maps (see refinement.py); original px in and out."""

    def refine(fit: Fit, fixed_points: np.ndarray, moving_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        def working_fixed_to_moving(points: np.ndarray) -> np.ndarray:
            return moving.to_working(fit.model.fixed_to_moving(fixed.to_original(points)))

        located, accepted = refine_correspondences(fixed.image, moving.image, fixed.to_working(fixed_points),
                                                   working_fixed_to_moving)
        return fixed_points[accepted], moving.to_original(located[accepted])

    return refine


def _to_original(features: Features, prepared: Prepared) -> Features:
    return features.with_keypoints(prepared.to_original(features.keypoints).astype(np.float32))
