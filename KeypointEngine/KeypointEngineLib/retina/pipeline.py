"""Retinal pair registration (paper 002): preprocess -> extract features -> match -> robust model fit -> subpixel
refinement of the inliers -> report.

Every backend plugs in as an extractor with `extract(image, mask) -> Features` at working scale. Inputs are pixel
arrays [rows, cols(, channels)]; all points and models are in original-image pixels (x = column, y = row).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from KeypointEngineLib.features import Features
from KeypointEngineLib.fitting import MODELS, Fit, GeometricModel, fit_auto, fit_model, spread
from KeypointEngineLib.jobs import Job, as_job
from KeypointEngineLib.matching import match_guided, match_mutual_nearest
from KeypointEngineLib.refinement import refine_correspondences
from KeypointEngineLib.retina.preprocess import Prepared, prepare

RANSAC_THRESHOLD_WORKING_PX = 3.0
GUIDED_RADIUS_WORKING_PX = 8.0  # search radius around a first transform's prediction when refining it
MIN_CONFIDENT_INLIERS = 15
# fewer inliers than this are as likely to be chance agreements as a real transform: report a failure
MIN_SUCCESS_INLIERS = {"similarity": 6, "affine": 8, "projective": 12, "quadratic": 18}
MIN_CONFIDENT_INLIER_RATIO = 0.15


@dataclass
class RegistrationReport:
    success: bool
    model: str | None
    fixed_keypoints: int
    moving_keypoints: int
    matches: int
    inliers: int
    inlier_ratio: float
    median_residual_px: float  # moving image, original resolution
    inlier_spread: float  # convex hull of fixed inliers / fixed field of view
    seconds: float
    message: str = ""

    @property
    def confident(self) -> bool:
        return (self.success and self.inliers >= MIN_CONFIDENT_INLIERS
                and self.inlier_ratio >= MIN_CONFIDENT_INLIER_RATIO)

    def summary(self) -> str:
        if not self.success:
            return f"Registration failed: {self.message}"
        text = (f"{self.model} model from {self.inliers} inliers of {self.matches} matches "
                f"({100 * self.inlier_ratio:.0f} %), median residual {self.median_residual_px:.2f} px, "
                f"{self.seconds:.2f} s.")
        if not self.confident:
            text += " Low confidence: few or inconsistent matches; check the alignment visually."
        return text

    def to_dict(self) -> dict:
        return {**asdict(self), "confident": self.confident}


@dataclass
class Registration:
    report: RegistrationReport
    model: GeometricModel | None  # fixed px -> moving px, with its inverse
    fixed_points: np.ndarray  # (M, 2) inliers, fixed original px
    moving_points: np.ndarray  # (M, 2) inliers, moving original px


FEATURE_BACKENDS = ("auto", "sift", "learned")  # the first is the default (see README)
# "auto": SIFT first, as the most precise within one modality; the learned backend where SIFT's result is not
# confident, as across modalities, where SIFT fails (SIFT was confident on none of the failed benchmark pairs)
AUTO_BACKENDS = ("sift", "learned")


def make_extractor(name: str, device: str | None = None):
    """A feature backend by name: "sift" (OpenCV), or "learned" (the shipped RetinaKeypointNet, on `device`).
    "auto" is no single extractor: see register_with_features."""
    if name == "sift":
        from KeypointEngineLib.retina.sift import SiftExtractor

        return SiftExtractor()
    if name == "learned":
        from KeypointEngineLib.retina.learned import LearnedExtractor

        return LearnedExtractor(device=device)
    if name == "auto":
        raise ValueError('"auto" tries several backends: call register_with_features, not make_extractor.')
    raise ValueError(f"Unknown keypoint backend {name!r}: use one of {', '.join(FEATURE_BACKENDS)}.")


def register_pair(fixed_image: np.ndarray, moving_image: np.ndarray, model: str = "auto", extractor=None,
                  working_size: int = 768, fov_degrees: float = 45.0, ratio: float = 0.9, subpixel: bool = True,
                  job: Job | None = None) -> Registration:
    """Register `moving_image` onto `fixed_image`; a failure is reported (success False), not raised.

    With `subpixel`, the inliers of the final fit are located again by template matching on the working images and
    the model fitted to them (see refinement.py).
    """
    job, start = as_job(job), time.perf_counter()
    if model != "auto" and model not in MODELS:
        raise ValueError(f"Unknown transform model {model!r}: use one of auto, {', '.join(MODELS)}.")
    extractor = extractor or make_extractor(AUTO_BACKENDS[0])  # one backend per call: SIFT unless given
    job.report("Preparing images", 0.0)
    fixed, moving = prepare(fixed_image, working_size, fov_degrees), prepare(moving_image, working_size, fov_degrees)
    job.report("Detecting keypoints", 0.15)
    fixed_features = _to_original(extractor.extract(fixed.image, fixed.mask), fixed)
    job.report("Detecting keypoints", 0.45)
    moving_features = _to_original(extractor.extract(moving.image, moving.mask), moving)
    job.report("Matching", 0.75)
    matches = match_mutual_nearest(fixed_features, moving_features, ratio)
    fixed_points, moving_points = matches.points(fixed_features, moving_features)
    job.report("Fitting the transform", 0.85)
    threshold = RANSAC_THRESHOLD_WORKING_PX / moving.scale
    fov_area = np.pi * (fixed.roi_diameter / 2) ** 2
    fit = _fit(model, fixed_points, moving_points, threshold, fov_area)
    if fit is not None and fit.inliers.sum() < MIN_SUCCESS_INLIERS[fit.model.kind]:
        fit = None  # as likely chance agreement as a transform: never refine around it
    if fit is not None:  # refine: guided matching around the first transform's predictions, then fit again
        job.report("Refining", 0.92)
        guided = match_guided(fixed_features, moving_features, fit.model.fixed_to_moving(fixed_features.keypoints),
                              GUIDED_RADIUS_WORKING_PX / moving.scale)
        guided_fixed, guided_moving = guided.points(fixed_features, moving_features)
        refined = _fit(model, guided_fixed, guided_moving, threshold, fov_area)
        if refined is not None and refined.inliers.sum() > fit.inliers.sum():
            fit, matches, fixed_points, moving_points = refined, guided, guided_fixed, guided_moving
    if fit is not None and subpixel:
        job.report("Refining to subpixel precision", 0.96)
        fit, fixed_points, moving_points = _refine_subpixel(fit, model, fixed, moving, fixed_points, moving_points,
                                                           threshold, fov_area)
    job.report("Fitting the transform", 1.0)

    counts = dict(fixed_keypoints=len(fixed_features), moving_keypoints=len(moving_features), matches=len(matches))
    seconds = time.perf_counter() - start
    if fit is None:
        message = (f"no {'' if model == 'auto' else model + ' '}transform is supported by enough of the "
                   f"{len(matches)} matches; the images may not overlap, or may need another keypoint backend")
        report = RegistrationReport(False, None, **counts, inliers=0, inlier_ratio=0.0,
                                    median_residual_px=float("inf"), inlier_spread=0.0, seconds=seconds,
                                    message=message)
        return Registration(report, None, np.zeros((0, 2)), np.zeros((0, 2)))
    inliers = fit.inliers
    report = RegistrationReport(
        True, fit.model.kind, **counts, inliers=int(inliers.sum()), inlier_ratio=float(inliers.sum() / len(matches)),
        median_residual_px=float(np.median(fit.residuals[inliers])),
        inlier_spread=spread(fixed_points[inliers], fov_area), seconds=seconds)
    return Registration(report, fit.model, fixed_points[inliers], moving_points[inliers])


def register_with_features(fixed_image: np.ndarray, moving_image: np.ndarray, features: str,
                           extractor_for: Callable[[str], object], **options) -> Registration:
    """register_pair with the backend named `features`; with "auto", with each of AUTO_BACKENDS in turn until a
    registration is confident, keeping otherwise the successful one with the most inliers (or the last failure).
    `extractor_for(name)` gives a loaded backend, so a model loads only when a pair needs it; `options` go to
    register_pair. The report's seconds cover every try."""
    if features not in FEATURE_BACKENDS:
        raise ValueError(f"Unknown keypoint backend {features!r}: use one of {', '.join(FEATURE_BACKENDS)}.")
    start, tried = time.perf_counter(), []
    for name in AUTO_BACKENDS if features == "auto" else (features,):
        tried.append(register_pair(fixed_image, moving_image, extractor=extractor_for(name), **options))
        if tried[-1].report.confident:
            break
    successful = [registration for registration in tried if registration.report.success]
    chosen = max(successful, key=lambda registration: registration.report.inliers) if successful else tried[-1]
    chosen.report.seconds = time.perf_counter() - start
    return chosen


def _refine_subpixel(fit: Fit, model: str, fixed: Prepared, moving: Prepared, fixed_points: np.ndarray,
                     moving_points: np.ndarray, threshold: float,
                     fov_area: float) -> tuple[Fit, np.ndarray, np.ndarray]:
    """The fit's inliers located to subpixel precision and `model` fitted to them again (with "auto", precise points
    may now show the curvature that noisy ones hid): (fit, fixed points, moving points); the fit given, with its
    points, where too few inliers can be located."""
    inlier_points = fixed_points[fit.inliers]

    def working_fixed_to_moving(points: np.ndarray) -> np.ndarray:
        return moving.to_working(fit.model.fixed_to_moving(fixed.to_original(points)))

    located, accepted = refine_correspondences(fixed.image, moving.image, fixed.to_working(inlier_points),
                                               working_fixed_to_moving)
    fixed_located, moving_located = inlier_points[accepted], moving.to_original(located[accepted])
    refined = _fit(model, fixed_located, moving_located, threshold, fov_area) if accepted.sum() else None
    if refined is None or refined.inliers.sum() < MIN_SUCCESS_INLIERS[refined.model.kind]:
        return fit, fixed_points, moving_points
    return refined, fixed_located, moving_located


def _fit(model: str, fixed_points, moving_points, threshold: float, fov_area: float):
    if model == "auto":
        return fit_auto(fixed_points, moving_points, threshold, fov_area)
    return fit_model(model, fixed_points, moving_points, threshold)


def _to_original(features: Features, prepared: Prepared) -> Features:
    return Features(prepared.to_original(features.keypoints).astype(np.float32), features.scores, features.descriptors)
