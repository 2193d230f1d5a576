"""Short-axis stacks between the scanner's grid and the network's: the slicing axis from the volume geometry, each
slice resampled in-plane to the working spacing (1.25 mm), intensities normalised per volume; and back, class
probabilities resampled onto the original slices so labels land exactly on the input geometry.

Everything happens in index space (a slice is resampled only within itself), so any orientation, obliquity and
anisotropy of the input is kept exactly: the labels are on the input's own grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from KeypointEngineLib.errors import InputError
from KeypointEngineLib.geometry import spacing_of

SPACING_MM = 1.25  # in-plane working spacing (the project's choice for ACDC-like cine MRI)
MULTIPLE = 16  # the network's sides: 2 ** (encoder levels - 1)
THICK_SLICE_MM = 12.0


@dataclass
class SliceStack:
    images: np.ndarray  # (Z, H, W) float32 0..1 on the working grid, padded to multiples of 16
    axis: int  # the array axis (of [k, j, i]) the slices are taken along
    shape: tuple[int, int]  # in-plane shape of the original slices (the other two axes, in order)
    scale: tuple[float, float]  # working px per original px along those axes
    spacing_mm: tuple[float, float, float]  # (slice, row, column) spacing of the original, mm

    @property
    def working_shape(self) -> tuple[int, int]:
        return tuple(int(round(n * s)) for n, s in zip(self.shape, self.scale, strict=True))


def slice_axis(ijk_to_ras: np.ndarray) -> int:
    """The array axis (0 = k, 1 = j, 2 = i) with the largest spacing: a short-axis cine stack's slices are far
    thicker than its pixels. Ties (isotropic volumes) keep k, the acquisition order."""
    spacing = spacing_of(ijk_to_ras)[::-1]  # per array axis [k, j, i]
    largest = int(np.argmax(spacing))
    return largest if spacing[largest] > spacing[0] * 1.01 else 0


def check_geometry(ijk_to_ras: np.ndarray) -> None:
    """An InputError for orientation metadata no scanner writes: a zero or non-finite axis, or axes in one plane."""
    matrix = np.asarray(ijk_to_ras, float)[:3, :3]
    if not np.all(np.isfinite(matrix)) or np.any(spacing_of(ijk_to_ras) == 0) or abs(np.linalg.det(matrix)) < 1e-9:
        raise InputError("The volume's orientation metadata is inconsistent (an axis of zero length, or axes in one "
                         "plane): fix its header (spacing and direction), e.g. by re-exporting it from the scanner.")


def shear_degrees(ijk_to_ras: np.ndarray) -> float:
    """How far the voxel axes are from perpendicular (0 for any scanner's grid; gantry tilt gives a few degrees)."""
    axes = np.asarray(ijk_to_ras, float)[:3, :3] / spacing_of(ijk_to_ras)
    cosines = np.abs([axes[:, a] @ axes[:, b] for a, b in ((0, 1), (0, 2), (1, 2))])
    return float(np.degrees(np.arcsin(np.clip(cosines.max(), 0.0, 1.0))))


def normalise(array: np.ndarray) -> np.ndarray:
    """Intensities of any scanner range (int16 0-4000, floats 0-1) to 0..1: the 1st-99th percentile of the volume."""
    values = np.asarray(array, np.float32)
    low, high = np.percentile(values, [1.0, 99.0])
    if high <= low:
        high = low + 1.0
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def _resize(stack: torch.Tensor, shape: tuple[int, int], mode: str) -> torch.Tensor:
    if tuple(stack.shape[-2:]) == tuple(shape):
        return stack
    return F.interpolate(stack, size=shape, mode=mode, align_corners=False, antialias=mode == "bilinear")


def to_slices(array: np.ndarray, ijk_to_ras: np.ndarray, spacing_mm: float = SPACING_MM) -> SliceStack:
    """The volume [k, j, i] as working slices; an InputError for what cannot be a short-axis stack."""
    if array.ndim != 3:
        raise InputError(f"KeypointSeg segments a 3D short-axis stack (one cine frame); got an array of shape "
                         f"{array.shape}.")
    if not np.all(np.isfinite(array)):
        raise InputError("The volume has NaN or infinite voxels: fix or mask them (e.g. replace them by 0) first.")
    if float(np.ptp(array)) == 0.0:
        raise InputError("The volume is constant (every voxel the same): it holds no image to segment.")
    check_geometry(ijk_to_ras)
    axis = slice_axis(ijk_to_ras)
    spacing = spacing_of(ijk_to_ras)[::-1]
    slices = np.moveaxis(normalise(array), axis, 0)
    in_plane = tuple(float(spacing[a]) for a in range(3) if a != axis)
    scale = tuple(s / spacing_mm for s in in_plane)
    shape = tuple(int(n) for n in slices.shape[1:])
    working = tuple(max(int(round(n * s)), 1) for n, s in zip(shape, scale, strict=True))
    images = _resize(torch.from_numpy(np.ascontiguousarray(slices))[:, None], working, "bilinear")[:, 0].numpy()
    padded = [int(np.ceil(n / MULTIPLE) * MULTIPLE) for n in working]
    images = np.pad(images, [(0, 0)] + [(0, p - n) for p, n in zip(padded, working, strict=True)])
    return SliceStack(images.astype(np.float32), axis, shape, scale,
                      (float(spacing[axis]),) + in_plane)


def to_volume(probabilities: torch.Tensor, stack: SliceStack) -> np.ndarray:
    """(Z, C, H, W) class probabilities on the working slices -> labels [k, j, i] uint8 on the original grid."""
    height, width = stack.working_shape
    original = _resize(probabilities[:, :, :height, :width].float(), stack.shape, "bilinear")
    labels = original.argmax(dim=1).numpy().astype(np.uint8)
    return np.moveaxis(labels, 0, stack.axis)


def to_original_px(points: np.ndarray, stack: SliceStack) -> np.ndarray:
    """(N, 2) (x, y) working px of a slice -> original in-plane px (x along the slice's second axis)."""
    scale = np.array(stack.scale[::-1], np.float32)  # x is the last in-plane axis
    return (points + 0.5) / scale - 0.5
