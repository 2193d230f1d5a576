"""When a retinal registration may be called confident: right, in FIRE's sense, is a mean control-point error of at
most 5 px on a 2912-px field of view, and confidence should be true only then.

Control points are unknown at run time; what stands in for them is how well the chosen model predicts inliers it was
not fitted on (spatially blocked, see fitting/selection.py), scaled as FIRE scales errors, together with the inliers'
number and share of the matches (a chance consensus among unrelated images has few of either). The thresholds are
calibrated with `slicer-keypoints bench align` (its precision / recall columns) and checked on real wrong-eye pairs,
which no simulation made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from KeypointEngineLib.fitting.selection import blocks, held_out_error, least_squares
from KeypointEngineLib.registration import Registration

REFERENCE_FIELD_PX = 2912.0  # FIRE's images: errors are expressed as if the field of view were this wide


@dataclass(frozen=True)
class RetinaConfidence:
    min_inliers: int = 15
    min_inlier_ratio: float = 0.15
    max_predicted_error_px: float = 3.0  # held-out residual, px on a 2912-px field of view

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
        if report.predicted_error_px is None:
            found.append("too few inliers to test the model on any it was not fitted on")
        elif not report.predicted_error_px <= self.max_predicted_error_px:
            found.append(f"the model predicts held-out inliers to {report.predicted_error_px:.1f} px at 2912 px "
                         f"(needs {self.max_predicted_error_px:g})")
        return found


CONFIDENCE = RetinaConfidence()


def predicted_error_px(registration: Registration, threshold: float, field_diameter_px: float) -> float | None:
    """The chosen model's root-mean-square residual on held-out blocks of its own inliers (moving px), scaled to a
    2912-px field of view; None when the inliers are too few to hold any out."""
    if registration.model is None or len(registration.fixed_points) < 2 * 6:
        return None
    fixed, moving = registration.fixed_points, registration.moving_points
    kind = registration.model.kind
    if least_squares(kind, fixed, moving) is None:
        return None
    squared = held_out_error(kind, fixed, moving, blocks(fixed), clip=2 * threshold)
    return float(np.sqrt(squared) * REFERENCE_FIELD_PX / field_diameter_px) if np.isfinite(squared) else None
