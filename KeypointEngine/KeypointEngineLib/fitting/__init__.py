"""Robust fitting of geometric models to matched points: one interface, the Fitter, for the 2D image models (px)
and the 3D volume models (RAS mm).

- 2D (planar.py): similarity, affine, projective, quadratic, and "auto", which picks among them by how well each
  predicts held-out matches (selection.py). OpenCV USAC MAGSAC++ / RANSAC, scikit-image RANSAC for the quadratic model.
- 3D (spatial.py): rigid, similarity, affine. scikit-image RANSAC with Umeyama least squares.

Models map fixed -> moving points and carry their inverse (models.py). Thresholds are in the points' units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from KeypointEngineLib.fitting import planar, spatial
from KeypointEngineLib.fitting.models import Fit, GeometricModel, spread

__all__ = ["KINDS", "Fit", "Fitter", "GeometricModel", "ModelKind", "spread"]


@dataclass(frozen=True)
class ModelKind:
    name: str
    fit: Callable[[np.ndarray, np.ndarray, float, int], Fit | None]  # (fixed, moving, threshold, seed)
    # fewer inliers than this are as likely to be a chance agreement as a transform: a failure
    min_inliers: int


def _planar(name: str, min_inliers: int) -> ModelKind:
    return ModelKind(name, lambda f, m, t, s: planar.fit_planar(name, f, m, t, s), min_inliers)


def _spatial(name: str, min_inliers: int) -> ModelKind:
    return ModelKind(name, lambda f, m, t, s: spatial.fit_spatial(name, f, m, t, s), min_inliers)


KINDS: dict[int, dict[str, ModelKind]] = {
    2: {kind.name: kind for kind in (_planar("similarity", 6), _planar("affine", 8), _planar("projective", 12),
                                     _planar("quadratic", 18))},
    3: {kind.name: kind for kind in (_spatial("rigid", 6), _spatial("similarity", 6), _spatial("affine", 8))},
}
AUTO = "auto"  # 2D only: planar.fit_auto


@dataclass(frozen=True)
class Fitter:
    """Fits one model kind (or, in 2D, "auto") robustly to matched points.

    `threshold` is the inlier distance in the points' units (px, mm). `reference_size` is the area (2D) or volume
    (3D) the points can cover, what the inliers' spread is measured against.
    """

    kind: str
    dimension: int
    threshold: float
    reference_size: float = 0.0
    seed: int = 0

    def __post_init__(self):
        known = KINDS.get(self.dimension)
        if known is None:
            raise ValueError(f"Models exist for 2D and 3D points, not {self.dimension}D.")
        if self.kind not in known and not (self.kind == AUTO and self.dimension == 2):
            names = ([AUTO] if self.dimension == 2 else []) + list(known)
            raise ValueError(f"Unknown {self.dimension}D transform model {self.kind!r}: use one of {', '.join(names)}.")
        if not self.threshold > 0:
            raise ValueError(f"The inlier threshold must be positive, not {self.threshold}.")

    def fit(self, fixed: np.ndarray, moving: np.ndarray) -> Fit | None:
        """The robust fit to fixed[i] <-> moving[i], (N, d) each; None when too few points or no model."""
        if self.kind == AUTO:
            return planar.fit_auto(fixed, moving, self.threshold, self.seed)
        return KINDS[self.dimension][self.kind].fit(fixed, moving, self.threshold, self.seed)

    def fit_succeeds(self, fit: Fit | None) -> bool:
        """Whether `fit` has enough inliers to be a transform rather than a chance agreement."""
        return fit is not None and fit.inliers.sum() >= KINDS[self.dimension][fit.model.kind].min_inliers
