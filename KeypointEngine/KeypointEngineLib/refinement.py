"""Subpixel refinement of matched keypoints by local template matching, once a first transform is known.

A keypoint is only as precise as the peak of its detector's score: a learned heatmap peaks on whole pixels, and even
SIFT's scale-space fit differs between two views of a blurred or re-lit image. Matching a small patch of the fixed
image around each inlier against the moving image, resampled through the transform's local linear approximation
(so rotation, scale and shear are already undone), places the correspondence to a fraction of a pixel. Normalised
cross-correlation ignores local brightness and contrast; one polarity check over all points lets it work where
structures turn from dark to bright (vessels in fluorescein angiography).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Mapping = Callable[[np.ndarray], np.ndarray]  # (N, 2) fixed px -> (N, 2) moving px


def local_linear_maps(mapping: Mapping, points: np.ndarray, step: float = 1.0) -> np.ndarray:
    """(N, 2, 2) Jacobians of `mapping` at `points` by central differences; columns are d/dx and d/dy."""
    dx = (mapping(points + [step, 0.0]) - mapping(points - [step, 0.0])) / (2 * step)
    dy = (mapping(points + [0.0, step]) - mapping(points - [0.0, step])) / (2 * step)
    return np.stack([dx, dy], axis=-1)


def _patches(image: np.ndarray, centres: np.ndarray, radius: int, linear: np.ndarray | None = None) -> np.ndarray:
    """(N, 2r+1, 2r+1) patches of `image` at `centres`, bilinearly sampled along `linear` (N, 2, 2) axes if given."""
    steps = np.arange(-radius, radius + 1, dtype=np.float64)
    size = 2 * radius + 1
    offsets = np.stack(np.meshgrid(steps, steps), axis=-1).reshape(1, size * size, 2)  # (x, y), row by row
    if linear is not None:
        offsets = offsets @ np.transpose(linear, (0, 2, 1))  # each offset through its point's linear map
    positions = (centres[:, None, :] + offsets).astype(np.float32)
    sampled = cv2.remap(image, positions[..., 0], positions[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return sampled.reshape(len(centres), size, size)  # one patch per row: cv2.remap takes up to 32767 rows


def _peak_offset(left: float, centre: float, right: float) -> float:
    """Subpixel position of a peak from three samples (a parabola through them)."""
    curvature = left - 2 * centre + right
    return 0.0 if curvature >= 0 else 0.5 * (left - right) / curvature


def _zero_shift_correlation(templates: np.ndarray, windows: np.ndarray) -> np.ndarray:
    a = templates.reshape(len(templates), -1)
    b = windows.reshape(len(windows), -1)
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-12)


def _correlation_peaks(templates: np.ndarray, windows: np.ndarray, search: int,
                       min_correlation: float) -> tuple[np.ndarray, np.ndarray]:
    """Subpixel (x, y) shift of each template's best match in its window: (shifts (N, 2), found (N,) bool)."""
    shifts, found = np.zeros((len(templates), 2)), np.zeros(len(templates), bool)
    if len(templates) == 0:
        return shifts, found
    # a flat patch (outside the field of view) has no position to find
    textured = np.flatnonzero((templates.reshape(len(templates), -1).std(axis=1) >= 1e-3)
                              & (windows.reshape(len(windows), -1).std(axis=1) >= 1e-3))
    for index in textured:
        template, window = templates[index], windows[index]
        correlation = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
        row, col = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
        if correlation[row, col] < min_correlation or not (0 < row < 2 * search and 0 < col < 2 * search):
            continue  # too weak, or the true peak may lie beyond the window
        shifts[index] = (col + _peak_offset(*correlation[row, col - 1:col + 2]) - search,
                         row + _peak_offset(*correlation[row - 1:row + 2, col]) - search)
        found[index] = True
    return shifts, found


def refine_correspondences(fixed_image: np.ndarray, moving_image: np.ndarray, fixed_points: np.ndarray,
                           fixed_to_moving: Mapping, radius: int = 8, search: int = 3, min_correlation: float = 0.6,
                           passes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Where `fixed_points` lie in the moving image: (moving points (N, 2), accepted (N,) bool).

    Each fixed patch of (2 radius + 1)² px is compared with the moving image around `fixed_to_moving`'s prediction,
    shifted by up to `search` px (in fixed-image px); a point is accepted when its correlation peaks inside that
    window at `min_correlation` or more. Later passes search again around the first pass's positions, where the
    parabola through the peak is least biased towards whole pixels. Rejected points keep the prediction. Images are
    one channel, points px.
    """
    fixed_points = np.asarray(fixed_points, np.float64).reshape(-1, 2)
    located = fixed_to_moving(fixed_points)
    accepted = np.zeros(len(fixed_points), bool)
    if len(fixed_points) == 0:
        return located, accepted
    linear = local_linear_maps(fixed_to_moving, fixed_points)
    templates = _patches(np.float32(fixed_image), fixed_points, radius)
    moving_image = np.float32(moving_image)
    windows = _patches(moving_image, located, radius + search, linear)
    if np.median(_zero_shift_correlation(templates, windows[:, search:-search, search:-search])) < 0:
        moving_image, windows = -moving_image, -windows  # contrast inverted between the modalities
    todo = np.arange(len(fixed_points))
    for first_pass in [True] + [False] * (passes - 1):
        if len(todo) == 0:
            break
        if not first_pass:  # the first pass searches the windows sampled for the polarity check
            windows = _patches(moving_image, located[todo], radius + search, linear[todo])
        shifts, found = _correlation_peaks(templates[todo], windows, search, min_correlation)
        todo = todo[found]
        located[todo] += np.einsum("nij,nj->ni", linear[todo], shifts[found])
        accepted[todo] = True
    return located, accepted
