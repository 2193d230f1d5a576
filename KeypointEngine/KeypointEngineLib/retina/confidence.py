"""When a retinal registration may be called confident: right, in FIRE's sense, is a mean control-point error of at
most 5 px on a 2912-px field of view, and confidence should be true only then.

Control points are unknown at run time; what stands in for them is how well the chosen model predicts inliers it was not
fitted on (spatially blocked, see fitting/selection.py), scaled as FIRE scales errors, together with the inliers' number
and how closely they agree: a chance consensus among unrelated images (guided re-matching among dense keypoints finds
one) scatters its inliers over the whole tolerance, a real alignment holds them close. The thresholds are calibrated
with `slicer-keypoints bench align` (its precision / recall columns) and checked on real wrong-eye pairs, which no
simulation made. A consensus on text or a frame burnt into both images (an identity both agree on) has many inliers and
predicts them well, but covers only a band of the overlap: coverage catches it. The held-out test runs on the chosen
model's own inliers, so a model that has shed the matches it cannot follow (a homography at the curved rim) looks better
than it is; the inliers' count and coverage bound how much it can shed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from KeypointEngineLib.fitting.models import apply_model
from KeypointEngineLib.fitting.planar import quadratic_least_squares
from KeypointEngineLib.fitting.selection import blocks, held_out_error
from KeypointEngineLib.registration import Registration
from KeypointEngineLib.retina.preprocess import REFERENCE_FOV_DEGREES, Prepared

REFERENCE_FIELD_PX = 2912.0  # FIRE's images: errors are expressed as if the 45° field of view were this wide
COVERAGE_CELLS = 8
COVERAGE_MIN_KEYPOINTS = 3  # a cell counts as part of the overlap's content with at least this many keypoints
MIN_HELD_OUT_POINTS = 12  # five blocks of fewer points than this leave a quadratic nothing to stand on


@dataclass(frozen=True)
class RetinaConfidence:
    min_inliers: int = 15
    # a floor only: right infrared / OCT en-face results have 10-18 % of their matches (descriptors across modalities
    # are weak), so the share cannot tell them from the chance consensus of real wrong-eye pairs (CHASE_DB1 left /
    # right eye: 17 %); their residuals can
    min_inlier_ratio: float = 0.06
    # inliers' median residual over the tolerance: a chance consensus scatters them over the tolerance's disc (0.64 and
    # 0.67 on those wrong-eye pairs; 0.71 in theory), right results have them close (0.08-0.29 across modalities, with
    # the subpixel refinement registration does by default; unrefined keypoints scatter more)
    max_residual_share: float = 0.45
    max_predicted_error_px: float = 5.0  # error where the model was not fitted, px at 2912 px: FIRE's "right"
    min_overlap_coverage: float = 0.5  # text or a frame burnt into both images covers a band, not the overlap

    def reasons(self, registration: Registration) -> list[str]:
        """Why the registration is not confident (empty when it is)."""
        report = registration.report
        if not report.success:
            return ["the registration failed"]
        found = []
        if report.inliers < self.min_inliers:
            found.append(f"only {report.inliers} inliers (needs {self.min_inliers})")
        if report.inlier_ratio < self.min_inlier_ratio:
            found.append(f"only {100 * report.inlier_ratio:.0f} % of the matches agree "
                         f"(needs {100 * self.min_inlier_ratio:.0f} %)")
        if report.residual_share is None:
            found.append("the inliers' residuals were not measured")
        elif report.residual_share > self.max_residual_share:
            found.append(f"the inliers scatter over {100 * report.residual_share:.0f} % of the tolerance (median; "
                         f"needs {100 * self.max_residual_share:.0f} % at most), as chance agreements do")
        if report.predicted_error_px is None:
            found.append("the model could not be tested on inliers it was not fitted on (too few, or degenerate)")
        elif not report.predicted_error_px <= self.max_predicted_error_px:
            found.append(f"the model predicts held-out inliers to {report.predicted_error_px:.1f} px at 2912 px "
                         f"(needs {self.max_predicted_error_px:g})")
        if report.overlap_coverage is None or report.overlap_coverage < self.min_overlap_coverage:
            found.append(f"the inliers cover {100 * (report.overlap_coverage or 0):.0f} % of the overlap's content "
                         f"(needs {100 * self.min_overlap_coverage:.0f} %): they may lie on text or a frame both "
                         "images share")
        return found


CONFIDENCE = RetinaConfidence()


def overlap_coverage(registration: Registration, fixed_keypoints: np.ndarray, fixed: Prepared, moving: Prepared,
                     cells: int = COVERAGE_CELLS) -> float | None:
    """Share of the overlap's cells (a `cells` x `cells` grid on the fixed working image) with keypoints that hold an
    inlier too: a transform the images agree on is supported wherever both show retina, one found on burnt-in text or
    a frame only where those are. None without an overlap with keypoints."""
    if registration.model is None:
        return None
    mapped = moving.to_working(registration.model.fixed_to_moving(fixed_keypoints))
    rows, cols = moving.mask.shape
    finite = np.isfinite(mapped).all(axis=1)
    x, y = np.round(np.where(finite[:, None], mapped, -1)).astype(int).T.reshape(2, -1)
    inside = finite & (x >= 0) & (x < cols) & (y >= 0) & (y < rows)
    inside[inside] = moving.mask[y[inside], x[inside]] > 0
    size = np.array(fixed.image.shape[::-1], float) / cells

    def cell(points: np.ndarray) -> np.ndarray:
        index = np.clip((fixed.to_working(points) // size).astype(int), 0, cells - 1)
        return index[:, 1] * cells + index[:, 0]

    counts = np.bincount(cell(fixed_keypoints[inside]), minlength=cells * cells)
    occupied = counts >= COVERAGE_MIN_KEYPOINTS
    if not occupied.any():
        return None
    covered = np.zeros(cells * cells, bool)
    covered[cell(registration.fixed_points)] = True
    return float((covered & occupied).sum() / occupied.sum())


def fire_scale(field_diameter_px: float, fov_degrees: float) -> float:
    """Px of an image whose `fov_degrees` field spans `field_diameter_px`, to px of FIRE's 2912-px 45° field (same
    focal length in both: the tangent of the half field, not the angle, scales with px)."""
    focal_px = field_diameter_px / 2 / np.tan(np.deg2rad(fov_degrees) / 2)
    return REFERENCE_FIELD_PX / (2 * focal_px * np.tan(np.deg2rad(REFERENCE_FOV_DEGREES) / 2))


def predicted_error_px(registration: Registration, threshold: float, scale: float) -> float | None:
    """The chosen model's error where it was not fitted (moving px) times `scale` (see fire_scale): the root of its
    mean squared residual on held-out blocks of its own inliers less the matches' own scatter; None when it cannot be
    estimated (too few inliers to hold blocks out, or degenerate ones)."""
    if registration.model is None or len(registration.fixed_points) < MIN_HELD_OUT_POINTS:
        return None
    fixed, moving = registration.fixed_points, registration.moving_points
    squared = held_out_error(registration.model.kind, fixed, moving, blocks(fixed), clip=2 * threshold)
    noise = _noise_variance(fixed, moving)
    if not (np.isfinite(squared) and np.isfinite(noise)):
        return None
    return float(np.sqrt(max(squared - noise, 0.0)) * scale)


def _noise_variance(fixed: np.ndarray, moving: np.ndarray) -> float:
    """The matches' own scatter (moving px², both axes): the quadratic model's in-sample residual, corrected for its
    six parameters per axis. A held-out residual is this scatter plus the model's error; only the error matters."""
    residual = apply_model("quadratic", quadratic_least_squares(fixed, moving), fixed) - moving
    return float((residual ** 2).sum() / max(len(fixed) - 6, 1))
