"""Resampling the moving image into the fixed image's pixel grid, and side-by-side views of a registration."""

from __future__ import annotations

import cv2
import numpy as np

from KeypointEngineLib.fitting import GeometricModel

MAP_STEP_PX = 8  # the model is evaluated every this many px and interpolated between: its maps are smooth


def warp_moving_to_fixed(moving: np.ndarray, model: GeometricModel, fixed_shape: tuple[int, ...]) -> np.ndarray:
    """The moving image resampled on the fixed pixel grid (bilinear; black outside the moving image)."""
    rows, cols = fixed_shape[:2]
    map_x, map_y = _pixel_maps(model, rows, cols)
    return cv2.remap(np.ascontiguousarray(moving), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def _pixel_maps(model: GeometricModel, rows: int, cols: int, step: int = MAP_STEP_PX) -> tuple[np.ndarray, ...]:
    """Where each fixed pixel lies in the moving image (float32 x and y maps), from the model at every `step`-th
    px, bilinearly interpolated (a quadratic or projective map differs from that by far less than 0.01 px; evaluating
    it at each of a 6000² image's pixels took seconds).

    cv2.resize by the factor `step` puts coarse sample j at output px (j + 0.5) step - 0.5. Cutting the first `step`
    output px makes sample j lie at px (j - 0.5) step - 0.5: from half a step before px 0 to past the last px, so
    every px lies between two samples (no clamping at the borders)."""
    def coarse(count):
        return (np.arange(-(-count // step) + 2) - 0.5) * step - 0.5

    y, x = np.meshgrid(coarse(rows), coarse(cols), indexing="ij")
    source = model.fixed_to_moving(np.c_[x.ravel(), y.ravel()]).astype(np.float32).reshape(*x.shape, 2)
    fine = cv2.resize(source, (x.shape[1] * step, x.shape[0] * step), interpolation=cv2.INTER_LINEAR)
    fine = fine[step:step + rows, step:step + cols]
    return np.ascontiguousarray(fine[..., 0]), np.ascontiguousarray(fine[..., 1])


def checkerboard(first: np.ndarray, second: np.ndarray, tiles: int = 8) -> np.ndarray:
    """Alternate square tiles of two same-size images: vessels continue across tile edges when aligned."""
    first, second = _as_rgb(first), _as_rgb(second)
    if first.shape != second.shape:
        raise ValueError(f"Checkerboard needs same-size images, got {first.shape} and {second.shape}.")
    rows, cols = first.shape[:2]
    size = max(rows, cols) / tiles
    tile_rows, tile_cols = np.arange(rows) // size, np.arange(cols) // size
    use_first = ((tile_rows[:, None] + tile_cols[None, :]) % 2 == 0)[..., None]
    return np.where(use_first, first, second)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    return image[..., :3]
