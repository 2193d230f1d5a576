"""Retinal preprocessing (paper 002): one channel, field-of-view (RoI) mask (field_of_view.py), crop to it, rescale
to a working scale set by the camera's field of view, CLAHE."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from KeypointEngineLib.errors import InputError
from KeypointEngineLib.retina.field_of_view import field_diameter, field_of_view_mask

REFERENCE_FOV_DEGREES = 45.0
CROP_MARGIN = 0.03  # of the field of view's diameter, kept around it when cropping: context for the rim's keypoints


@dataclass
class Prepared:
    image: np.ndarray  # uint8 [rows, cols] at working scale, contrast-enhanced: the field of view's bounding box
    mask: np.ndarray  # uint8 0/255 field-of-view mask at working scale
    scale: float  # working px per original px, as asked for
    roi_diameter: float  # original px
    origin: np.ndarray  # (x, y) original px of the crop's first pixel
    # (x, y) working px per original px as resized: the size is rounded to whole px, so each axis differs from
    # `scale` by up to half a px over the image, a bias every correspondence would share
    axis_scales: np.ndarray

    def to_original(self, points: np.ndarray) -> np.ndarray:
        """Working px to original px, pixel centres at integers in both (as cv2.resize maps them)."""
        return (np.asarray(points, np.float64) + 0.5) / self.axis_scales - 0.5 + self.origin

    def to_working(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, np.float64) - self.origin + 0.5) * self.axis_scales - 0.5


def to_gray(image: np.ndarray) -> np.ndarray:
    """Green channel of RGB (best vessel contrast in colour fundus), the image itself if already one channel."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] >= 3:
        image = image[..., 1]
    elif image.ndim == 3:
        image = image[..., 0]
    if image.ndim != 2:
        raise InputError(f"Expected a 2D image [rows, cols(, channels)], got shape {image.shape}.")
    low, high = _percentiles(image, (0.5, 99.5))
    if high - low < 1e-6:
        raise InputError("The image is blank (constant intensity): nothing to register.")
    if image.dtype == np.uint8:  # a look-up table: the same values, without a float copy of a full-size photograph
        return _stretch(np.arange(256, dtype=np.float32), low, high)[image]
    return _stretch(image.astype(np.float32), low, high)


def _stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((values - low) / (high - low) * 255.0, 0, 255).astype(np.uint8)


def _percentiles(image: np.ndarray, percents: tuple[float, ...]) -> tuple[float, ...]:
    """np.percentile's (linear) values; for uint8 from the histogram, which needs no sort of every pixel."""
    if image.dtype != np.uint8:
        return tuple(np.percentile(image.astype(np.float32), percents))
    # OpenCV counts without a copy (np.bincount makes an int64 one of every px), in float32: exact below 2^24 a bin,
    # so by bands of fewer px
    band = max(1, 2 ** 23 // max(image.shape[1], 1))
    histogram = sum(cv2.calcHist([np.ascontiguousarray(image[row:row + band])], [0], None, [256], [0, 256]).ravel()
                    .astype(np.int64) for row in range(0, image.shape[0], band))
    cumulative = np.cumsum(histogram)
    values = []
    for percent in percents:
        rank = (cumulative[-1] - 1) * percent / 100  # 0-based position in the sorted pixels
        below, above = np.searchsorted(cumulative, [np.floor(rank), np.ceil(rank)], side="right")
        values.append(below + (rank - np.floor(rank)) * (above - below))
    return tuple(float(value) for value in values)


@dataclass
class Field:
    """Where an image shows retina, found once however many working scales it is prepared at."""

    gray: np.ndarray  # uint8, one channel: the field of view's bounding box (with CROP_MARGIN)
    mask: np.ndarray  # uint8 0/255, the same box
    diameter: float  # original px
    origin: np.ndarray  # (x, y) original px of the box's first pixel


def find_field(image: np.ndarray) -> Field:
    gray = to_gray(image)
    if min(gray.shape) < 64:
        raise InputError(f"The image is too small ({gray.shape[1]}x{gray.shape[0]} px); at least 64 px are needed.")
    mask = field_of_view_mask(gray)
    diameter = field_diameter(mask)
    x, y, width, height = cv2.boundingRect(mask)
    margin = round(CROP_MARGIN * diameter)
    left, top = max(x - margin, 0), max(y - margin, 0)
    right, bottom = min(x + width + margin, gray.shape[1]), min(y + height + margin, gray.shape[0])
    return Field(gray[top:bottom, left:right], mask[top:bottom, left:right], diameter,
                 np.array([left, top], np.float64))


def prepare(image: np.ndarray | Field, working_size: int = 768,
            fov_degrees: float = REFERENCE_FOV_DEGREES) -> Prepared:
    """Preprocess one image (or its Field) so that a 45° field of view spans about `working_size` px.

    Only the field of view's bounding box is kept: the black around it would cost every backend time for nothing
    (a small aperture in a large frame is mostly black).
    """
    field = image if isinstance(image, Field) else find_field(image)
    scale = working_size * fov_degrees / REFERENCE_FOV_DEGREES / field.diameter
    scale = float(np.clip(scale, 0.05, 4.0))
    size = (max(1, round(field.gray.shape[1] * scale)), max(1, round(field.gray.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(field.gray, size, interpolation=interpolation)
    small_mask = cv2.resize(field.mask, size, interpolation=cv2.INTER_NEAREST)
    axis_scales = np.array([size[0] / field.gray.shape[1], size[1] / field.gray.shape[0]])
    return Prepared(enhance(small, small_mask), small_mask, scale, field.diameter, field.origin, axis_scales)


def enhance(gray: np.ndarray, mask: np.ndarray, tile_px: int = 96) -> np.ndarray:
    """CLAHE with tiles of about `tile_px` (at working scale), zero outside the field of view."""
    tiles = (max(1, round(gray.shape[1] / tile_px)), max(1, round(gray.shape[0] / tile_px)))
    enhanced = cv2.createCLAHE(clipLimit=2.0, tileGridSize=tiles).apply(gray)
    enhanced[mask == 0] = 0
    return enhanced
