"""The registration step every module shares, for 2D and 3D features alike: match -> robust fit -> guided
re-matching around the first fit -> optional refinement -> report.

Points are in whatever units the caller gives the features (image px, or RAS mm for volumes); thresholds, radii and
residuals are in the same units. Each module sets its own confidence rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from KeypointEngineLib.features import Features
from KeypointEngineLib.fitting import Fit, Fitter, GeometricModel, spread
from KeypointEngineLib.jobs import Job, as_job
from KeypointEngineLib.matching import match_guided, match_mutual_nearest

# (fit, fixed inlier points, moving inlier points) -> (fixed, moving) points located more precisely: those of the
# inliers that could be located
Refiner = Callable[[Fit, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ConfidenceRule:
    """When a successful registration is trusted: enough inliers, and enough of the matches inliers."""

    min_inliers: int = 15
    min_inlier_ratio: float = 0.15

    def __call__(self, inliers: int, matches: int) -> bool:
        return inliers >= self.min_inliers and inliers / max(matches, 1) >= self.min_inlier_ratio


@dataclass
class RegistrationReport:
    success: bool
    model: str | None
    fixed_keypoints: int
    moving_keypoints: int
    matches: int
    inliers: int
    inlier_ratio: float
    median_residual: float  # in `units`, in the moving image or volume
    inlier_spread: float  # convex hull of the fixed inliers / the reference area or volume
    seconds: float
    confident: bool
    units: str = "px"
    message: str = ""
    device: str = ""  # where the keypoints were computed, and why
    # the model's residual on held-out inliers where a module estimates it (retina: px on a 2912-px field of view);
    # None where it is not estimated or the inliers are too few to hold any out
    predicted_error_px: float | None = None
    # share of the overlap's keypoint-bearing cells that hold inliers, where a module measures it (retina)
    overlap_coverage: float | None = None
    # the inliers' median residual over the fit's tolerance, where a module measures it (retina): matches scattered
    # at random within the tolerance (a chance consensus) give about 0.7 (uniform in a disc), a real alignment less
    residual_share: float | None = None
    # the factor on the moving image's working scale the registration settled on, where a module searches it (retina:
    # 1 at the fields of view given or assumed)
    scale_factor: float | None = None

    def summary(self) -> str:
        if not self.success:
            return f"Registration failed: {self.message}"
        text = (f"{self.model} model from {self.inliers} inliers of {self.matches} matches "
                f"({100 * self.inlier_ratio:.0f} %), median residual {self.median_residual:.2f} {self.units}, "
                f"{self.seconds:.2f} s" + (f" on {self.device}." if self.device else "."))
        if not self.confident:
            text += (" Low confidence: " + (self.message or "few or inconsistent matches")
                     + "; check the alignment visually.")
        return text

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Registration:
    report: RegistrationReport
    model: GeometricModel | None  # fixed -> moving, with its inverse
    fixed_points: np.ndarray  # (M, d) inliers
    moving_points: np.ndarray  # (M, d) inliers


def register_features(fixed: Features, moving: Features, fitter: Fitter, confidence: ConfidenceRule,
                      ratio: float = 1.0, guided_radius: float | None = None, refine: Refiner | None = None,
                      units: str = "px", job: Job | None = None) -> Registration:
    """Register `moving` onto `fixed` features; a failure is reported (success False), not raised.

    With `guided_radius`, a first fit is refined by matching again within that radius of its predictions (descriptors
    need only be the best locally) and kept when it gains inliers. With `refine`, the final inliers are located
    again and the model fitted to them. Progress goes to `job` from 0 to 1.
    """
    job, start = as_job(job), time.perf_counter()
    if fixed.dimension != fitter.dimension or moving.dimension != fitter.dimension:
        raise ValueError(f"A {fitter.dimension}D model cannot be fitted to {fixed.dimension}D and "
                         f"{moving.dimension}D keypoints.")
    job.report("Matching", 0.0)
    matches = match_mutual_nearest(fixed, moving, ratio)
    fixed_points, moving_points = matches.points(fixed, moving)
    job.report("Fitting the transform", 0.4)
    fit = fitter.fit(fixed_points, moving_points)
    if not fitter.fit_succeeds(fit):
        fit = None  # as likely a chance agreement as a transform: never refine around it
    if fit is not None and guided_radius is not None:
        job.report("Refining", 0.7)
        guided = match_guided(fixed, moving, fit.model.fixed_to_moving(fixed.keypoints), guided_radius)
        guided_fixed, guided_moving = guided.points(fixed, moving)
        refitted = fitter.fit(guided_fixed, guided_moving)
        if refitted is not None and refitted.inliers.sum() > fit.inliers.sum():
            fit, matches, fixed_points, moving_points = refitted, guided, guided_fixed, guided_moving
    if fit is not None and refine is not None:
        job.report("Refining to subpixel precision", 0.85)
        located_fixed, located_moving = refine(fit, fixed_points[fit.inliers], moving_points[fit.inliers])
        refined = fitter.fit(located_fixed, located_moving) if len(located_fixed) else None
        if fitter.fit_succeeds(refined):
            fit, fixed_points, moving_points = refined, located_fixed, located_moving
    job.report("Fitting the transform", 1.0)

    counts = dict(fixed_keypoints=len(fixed), moving_keypoints=len(moving), matches=len(matches), units=units)
    seconds = time.perf_counter() - start
    if fit is None:
        model = "" if fitter.kind == "auto" else fitter.kind + " "
        message = (f"no {model}transform is supported by enough of the {len(matches)} matches; the images may not "
                   "overlap, or may need another keypoint backend")
        report = RegistrationReport(False, None, **counts, inliers=0, inlier_ratio=0.0, median_residual=float("inf"),
                                    inlier_spread=0.0, seconds=seconds, confident=False, message=message)
        empty = np.zeros((0, fitter.dimension))
        return Registration(report, None, empty, empty)
    inliers = int(fit.inliers.sum())
    report = RegistrationReport(
        True, fit.model.kind, **counts, inliers=inliers, inlier_ratio=float(inliers / len(matches)),
        median_residual=float(np.median(fit.residuals[fit.inliers])),
        inlier_spread=spread(fixed_points[fit.inliers], fitter.reference_size), seconds=seconds,
        confident=confidence(inliers, len(matches)))
    return Registration(report, fit.model, fixed_points[fit.inliers], moving_points[fit.inliers])
