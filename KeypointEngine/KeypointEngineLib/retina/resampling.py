"""Resampling the moving image into the fixed image's pixel grid, and side-by-side views of a registration."""

from __future__ import annotations

import cv2
import numpy as np

from KeypointEngineLib.fitting import GeometricModel


def warp_moving_to_fixed(moving: np.ndarray, model: GeometricModel, fixed_shape: tuple[int, ...]) -> np.ndarray:
    """The moving image resampled on the fixed pixel grid (bilinear; black outside the moving image)."""
    rows, cols = fixed_shape[:2]
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    source = model.fixed_to_moving(np.c_[x.ravel(), y.ravel()]).astype(np.float32)
    map_x, map_y = source[:, 0].reshape(rows, cols), source[:, 1].reshape(rows, cols)
    return cv2.remap(np.ascontiguousarray(moving), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def checkerboard(first: np.ndarray, second: np.ndarray, tiles: int = 8) -> np.ndarray:
    """Alternate square tiles of two same-size images: vessels continue across tile edges when aligned."""
    first, second = _as_rgb(first), _as_rgb(second)
    if first.shape != second.shape:
        raise ValueError(f"Checkerboard needs same-size images, got {first.shape} and {second.shape}.")
    rows, cols = first.shape[:2]
    size = max(rows, cols) / tiles
    y, x = np.mgrid[0:rows, 0:cols]
    use_first = ((y // size + x // size) % 2 == 0)[..., None]
    return np.where(use_first, first, second)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    return image[..., :3]
