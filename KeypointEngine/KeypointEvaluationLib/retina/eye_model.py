"""How two fundus photographs of one eye are related: a curved retina seen through the pupil from two poses.

The model is the one retinal registration has long used to explain why fundus pairs are not projective (Can et al.,
"A feature-based, robust, hierarchical algorithm for registering pairs of images of the curved human retina", IEEE
TPAMI 2002; Hernandez-Matas et al., REMPE, "Retinal image registration as a tool for supporting clinical
applications", 2017): a pinhole camera looking at a curved retina, its pose changing between views. All lengths in
mm, in the eye's own frame (+z along the optical axis towards the cornea):

- **Retina**: an ellipsoid centred at the origin, semi-axes 11-13 mm, each drawn on its own (up to ±5 %: real
  retinas are slightly prolate or oblate, not spheres; Atchison et al., "Shape of the retinal surface in emmetropia and
  myopia", IOVS 2005). The posterior pole is at (0, 0, -c).
- **Projection centre**: at rest, the eye's nodal point, about 17 mm in front of the retina (the reduced eye;
  Atchison & Smith, "Optics of the Human Eye", 2000); the field of view (30-55° for colour fundus cameras and
  angiography, 20-30° for infrared SLO and OCT en-face) is the full cone angle there, across the camera's aperture.
- **Two views** differ by a rotation of the eye about its centre of rotation, about 13.5 mm behind the cornea, that is
  about 10.5 mm in front of the retina (Fry & Hill, "The center of rotation of the eye", Am J Optom 1962). Had the
  camera kept its place, the projection centre would be the rest one turned about the centre of rotation,
  Q + R^T (N - Q), in the eye's frame; the operator moves the camera back onto the pupil, undoing part of that
  (`recentring`), and leaves a small offset of its own. The centre moves by up to a millimetre or two against a retina
  curved by about 2 mm over the field, which makes the pair non-projective, the more so the more the pose changes.

What this stands for, and what it does not: an ideal, in-focus eye and camera map each retinal point to one
direction leaving the eye, and two such views would differ by a rotation of directions, a homography, whatever the
retina's shape and wherever the pupil is. Real pairs are not projective because real optics are not ideal at 45°
(the eye's and the camera's wide-angle distortion about each camera's axis, decentred and defocused pupils); the
pinhole moving against a curved retina is the literature's stand-in for those effects, not a model of them, and its
size here is not calibrated on real pairs. The benchmark's real-pair checks and a FIRE folder, not this model, say
whether a method holds on real photographs.

A warp maps MOVING pixels to FIXED pixels, as `RetinalWarp` does, so the benchmark and training use either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# the camera's axes at rest, as columns in the eye frame: image x right, image y down, viewing direction into the eye
_CAMERA_AT_REST = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]).T


@dataclass(frozen=True)
class Eye:
    semi_axes_mm: tuple[float, float, float] = (12.0, 12.0, 12.0)  # retina ellipsoid (x, y, z)
    nodal_mm: float = 17.0  # nodal point, in front of the posterior pole
    rotation_centre_mm: float = 10.5  # centre of rotation, in front of the posterior pole

    @property
    def nodal_point(self) -> np.ndarray:
        return np.array([0.0, 0.0, self.nodal_mm - self.semi_axes_mm[2]])

    @property
    def rotation_centre(self) -> np.ndarray:
        return np.array([0.0, 0.0, self.rotation_centre_mm - self.semi_axes_mm[2]])

    def retina_hit(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Where rays from inside the eye meet the retina (N, 3); NaN where a ray starts outside it."""
        axes = np.asarray(self.semi_axes_mm)
        o, d = np.atleast_2d(origins) / axes, np.atleast_2d(directions) / axes
        a, b, c = (d * d).sum(1), 2 * (o * d).sum(1), (o * o).sum(1) - 1.0
        with np.errstate(invalid="ignore"):
            t = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
        t[c >= 0] = np.nan  # the ray starts on or outside the retina
        return np.atleast_2d(origins) + t[:, None] * np.atleast_2d(directions)


def random_eye(rng: np.random.Generator) -> Eye:
    radius = rng.uniform(11.0, 13.0)
    axes = radius * (1 + rng.uniform(-0.05, 0.05, size=3))
    return Eye(tuple(float(a) for a in axes), float(rng.uniform(16.5, 17.5)), float(rng.uniform(10.0, 11.0)))


def rotation(gaze_degrees: float, gaze_direction: float, torsion_degrees: float = 0.0) -> np.ndarray:
    """The eye's rotation for a view that looks `gaze_degrees` away from the rest view's centre, towards
    `gaze_direction` (radians in the rest image: 0 = right, pi/2 = down), turned by `torsion_degrees` about its axis."""
    # the camera's rotation in the eye frame is the inverse of the eye's: tilt the viewing direction (0, 0, -1)
    # towards the image direction (cos, sin) = eye (cos, -sin, 0), about the axis perpendicular to both
    axis = np.array([-np.sin(gaze_direction), -np.cos(gaze_direction), 0.0])
    camera = _rodrigues(axis, np.deg2rad(gaze_degrees)) @ _rodrigues(np.array([0.0, 0.0, 1.0]),
                                                                    np.deg2rad(torsion_degrees))
    return camera.T


def _rodrigues(axis: np.ndarray, angle: float) -> np.ndarray:
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


@dataclass(frozen=True)
class EyeView:
    """One photograph's camera: the eye's rotation, the pupil offset, the field of view and the image's aperture."""

    rotation: np.ndarray  # 3x3, the eye's rotation about its centre of rotation for this view
    pupil_offset_mm: tuple[float, float]  # where the camera sits in the pupil, image x and y
    field_of_view_degrees: float  # full cone angle at the projection centre, across the aperture
    aperture_centre_px: tuple[float, float]  # (x, y)
    aperture_diameter_px: float  # the disc's diameter, or the square's side
    square: bool = False  # a scanning-laser field (infrared SLO, OCT en-face) instead of a camera's disc
    recentring: float = 0.0  # share of the eye's turn the operator undoes by moving the camera back onto the pupil

    @property
    def focal_px(self) -> float:
        return self.aperture_diameter_px / 2 / np.tan(np.deg2rad(self.field_of_view_degrees) / 2)

    def axes(self) -> np.ndarray:
        """The camera's axes (columns: image x, image y, viewing direction) in the eye frame."""
        return self.rotation.T @ _CAMERA_AT_REST

    def centre(self, eye: Eye) -> np.ndarray:
        """The projection centre in the eye frame: where the rest view's centre (the nodal point) is seen from once
        the eye has turned about its centre of rotation, plus the pupil offset."""
        q, nodal = eye.rotation_centre, eye.nodal_point
        stayed = q + self.rotation.T @ (nodal - q)  # the camera kept its place while the eye turned
        return nodal + (1 - self.recentring) * (stayed - nodal) + self.axes()[:, :2] @ np.asarray(self.pupil_offset_mm)

    def project(self, eye: Eye, points_mm: np.ndarray) -> np.ndarray:
        """Retinal points (N, 3) to pixels (N, 2); NaN behind the camera."""
        local = (np.atleast_2d(points_mm) - self.centre(eye)) @ self.axes()
        with np.errstate(invalid="ignore", divide="ignore"):
            pixels = self.focal_px * local[:, :2] / local[:, 2:3] + np.asarray(self.aperture_centre_px)
        pixels[~(local[:, 2] > 0)] = np.nan
        return pixels

    def retina_points(self, eye: Eye, pixels: np.ndarray) -> np.ndarray:
        """The retinal point each pixel (N, 2) sees (N, 3)."""
        rays = (np.atleast_2d(pixels) - np.asarray(self.aperture_centre_px)) / self.focal_px
        directions = np.c_[rays, np.ones(len(rays))] @ self.axes().T
        return eye.retina_hit(np.broadcast_to(self.centre(eye), directions.shape), directions)

    def in_aperture(self, pixels: np.ndarray) -> np.ndarray:
        offsets = np.atleast_2d(pixels) - np.asarray(self.aperture_centre_px)
        reach = np.abs(offsets).max(axis=1) if self.square else np.linalg.norm(offsets, axis=1)
        return reach <= self.aperture_diameter_px / 2


@dataclass(frozen=True)
class EyeWarp:
    """Moving pixels to fixed pixels through the retina: the truth of a pair made with the eye model."""

    eye: Eye
    moving: EyeView
    fixed: EyeView

    def moving_to_fixed(self, points: np.ndarray) -> np.ndarray:
        return self.fixed.project(self.eye, self.moving.retina_points(self.eye, np.asarray(points, dtype=np.float64)))

    def inverse(self) -> EyeWarp:
        return EyeWarp(self.eye, self.fixed, self.moving)
