"""CT and MRI volumes onto SP3D's working grid: isotropic voxels (default 2 mm) in the volume's own orientation,
intensities scaled robustly to 0..1 inside the body, and a body mask that keeps keypoints off air, padding and the
edges of the reconstruction.

Arrays are [k, j, i]; geometry is the 4x4 IJK->RAS matrix (KeypointEngineLib.geometry). Resampling is SimpleITK's
(linear), in LPS as ITK works, so the working grid's IJK->RAS places every voxel exactly where the input's does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage
from skimage.filters import threshold_otsu

from KeypointEngineLib.errors import InputError
from KeypointEngineLib.geometry import RAS_FROM_LPS, spacing_of

WORKING_SPACING_MM = 2.0
MULTIPLE = 8  # the network reduces each axis 8x


@dataclass
class WorkingVolume:
    array: np.ndarray  # [k, j, i] float32 in 0..1, each size a multiple of 8
    ijk_to_ras: np.ndarray  # 4x4 of the working grid
    mask: np.ndarray  # [k, j, i] bool: where keypoints may be

    @property
    def spacing(self) -> np.ndarray:
        return spacing_of(self.ijk_to_ras)


def to_image(array: np.ndarray, ijk_to_ras: np.ndarray) -> sitk.Image:
    """The SimpleITK image (LPS, as ITK works) of `array` [k, j, i] placed by `ijk_to_ras`."""
    spacing = spacing_of(ijk_to_ras)
    ijk_to_lps = RAS_FROM_LPS @ ijk_to_ras
    image = sitk.GetImageFromArray(np.ascontiguousarray(array, dtype=np.float32))
    image.SetSpacing(spacing.tolist())
    image.SetDirection((ijk_to_lps[:3, :3] / spacing).ravel().tolist())
    image.SetOrigin(ijk_to_lps[:3, 3].tolist())
    return image


def from_image(image: sitk.Image) -> tuple[np.ndarray, np.ndarray]:
    """(array [k, j, i], IJK->RAS) of a 3D SimpleITK image, e.g. one read from NIfTI or NRRD."""
    spacing = np.array(image.GetSpacing())
    ijk_to_lps = np.eye(4)
    ijk_to_lps[:3, :3] = np.reshape(image.GetDirection(), (3, 3)) * spacing
    ijk_to_lps[:3, 3] = image.GetOrigin()
    return sitk.GetArrayFromImage(image), RAS_FROM_LPS @ ijk_to_lps


def check_volume(array: np.ndarray, name: str = "volume") -> None:
    """An InputError unless `array` is a 3D scalar volume of numbers with more than one value."""
    if array.ndim != 3:
        raise InputError(f"The {name} has shape {array.shape}; a 3D scalar volume [k, j, i] is needed (a 2D image, "
                         "a vector or a 4D volume is not).")
    if min(array.shape) < 2:
        raise InputError(f"The {name} has only {min(array.shape)} slice(s); a 3D volume is needed.")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"The {name}'s voxel type {array.dtype} is not supported; use integer or float voxels.")
    finite = np.isfinite(array) if np.issubdtype(array.dtype, np.floating) else np.ones(array.shape, bool)
    if not finite.all():
        raise InputError(f"The {name} has {int((~finite).sum())} voxels that are not numbers (NaN or infinite); "
                         "replace them (e.g. with the background value) first.")
    if float(array.max()) == float(array.min()):
        raise InputError(f"The {name} is constant ({float(array.min()):g} everywhere): there is nothing to detect.")


def coverage_warnings(shape: tuple[int, int, int], ijk_to_ras: np.ndarray,
                      spacing_mm: float = WORKING_SPACING_MM) -> list[str]:
    """What about a volume's sampling makes its keypoints less reliable, in words (empty when nothing does):
    slices more than twice the working spacing apart, or too few slices for the network's 8-voxel cells."""
    spacing = spacing_of(ijk_to_ras)
    extent = np.array(shape[::-1]) * spacing
    warnings = []
    if spacing.max() > 2 * spacing_mm:
        warnings.append(f"The voxels are {spacing.max():.3g} mm along one axis, more than twice the {spacing_mm:g} mm "
                        "working spacing: keypoints are less precise along it, and a match less certain.")
    if extent.min() < 4 * MULTIPLE * spacing_mm:
        axis = int(np.argmin(extent))
        warnings.append(f"The volume covers only {extent[axis]:.0f} mm ({shape[2 - axis]} slices) along one axis: "
                        "few keypoints can be found, and a match may be weak.")
    return warnings


def to_working_grid(array: np.ndarray, ijk_to_ras: np.ndarray, spacing_mm: float = WORKING_SPACING_MM,
                    mask: np.ndarray | None = None, border_mm: float = 4.0) -> WorkingVolume:
    """The volume resampled to `spacing_mm` isotropic voxels (same origin and axes), padded to multiples of 8.

    `mask` [k, j, i] on the input grid (e.g. a user's segment) replaces the automatic body mask; either is eroded by
    `border_mm`, so no keypoint lies on the edge of the body or of the field of view. Voxels at the volume's minimum,
    where that value is frequent (CT's -1024 or -3024 outside the reconstruction, an MRI's zero background), count
    as outside the field of view.
    """
    check_volume(array)
    source = to_image(array, ijk_to_ras)
    size = np.maximum(np.ceil(np.array(source.GetSize()) * np.array(source.GetSpacing()) / spacing_mm), 1)
    size = (np.ceil(size / MULTIPLE) * MULTIPLE).astype(int).tolist()
    grid = (size, source.GetOrigin(), [spacing_mm] * 3, source.GetDirection())
    lowest = float(array.min())
    padding = array == lowest
    seen = np.ones(array.shape, bool) if padding.mean() < 0.02 else ~padding
    working = _resample(source, grid, sitk.sitkLinear, lowest)
    inside = _resample(_like(seen, source), grid, sitk.sitkNearestNeighbor, 0) > 0
    if mask is not None:
        if np.shape(mask) != array.shape:
            raise InputError(f"The mask's shape {np.shape(mask)} differs from the volume's {array.shape}; give a "
                             "mask on the volume's own grid.")
        region = _resample(_like(np.asarray(mask) > 0, source), grid, sitk.sitkNearestNeighbor, 0) > 0
        if not region.any():
            raise InputError("The mask is empty: mark the region to detect keypoints in, or give no mask.")
    else:
        region = body_mask(working, inside)
    region &= inside
    erosion = int(round(border_mm / spacing_mm))
    if erosion > 0:
        region = ndimage.binary_erosion(region, iterations=erosion)
    matrix = np.eye(4)
    matrix[:3, :3] = np.reshape(source.GetDirection(), (3, 3)) * spacing_mm
    matrix[:3, 3] = source.GetOrigin()
    return WorkingVolume(normalise(working, region if region.any() else inside), RAS_FROM_LPS @ matrix, region)


def _like(mask: np.ndarray, source: sitk.Image) -> sitk.Image:
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.CopyInformation(source)
    return image


def _resample(image: sitk.Image, grid, interpolator, default: float) -> np.ndarray:
    size, origin, spacing, direction = grid
    resampled = sitk.Resample(image, size, sitk.Transform(), interpolator, origin, spacing, direction, default,
                              image.GetPixelID())
    return sitk.GetArrayFromImage(resampled)


def body_mask(volume: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Where the body is: above Otsu's threshold within the field of view, largest component, holes filled."""
    values = volume[inside]
    foreground = (volume > threshold_otsu(values)) & inside
    labels, count = ndimage.label(ndimage.binary_closing(foreground, iterations=2))
    if count == 0:
        return inside.copy()
    largest = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    return ndimage.binary_fill_holes(largest)


def normalise(volume: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Intensities scaled so that the 1st..99th percentiles inside `region` span 0..1 (clipped): CT in HU, MRI in
    arbitrary units and 8-bit scans alike."""
    values = volume[region] if region.any() else volume.ravel()
    low, high = np.percentile(values, [1, 99])
    return np.clip((volume - low) / max(high - low, 1e-6), 0, 1).astype(np.float32)
