"""Classical 3D keypoint detectors and a rotation-invariant descriptor, built from n-D library functions, on the
same working grid, body mask, NMS and budget as SP3D (so only the detector and descriptor differ).

Detectors: difference of Gaussians (SIFT's, over two scales), Harris-3D (scikit-image's `structure_tensor`:
det - k trace^3) and the Hessian determinant where the curvature is
blob-like (SURF's detector; `hessian_matrix`). Descriptor: differential
invariants at three scales (smoothed intensity, gradient magnitude and the three sorted Hessian eigenvalues, each
standardised over the body), invariant to rotation as real repositioning needs.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.feature import hessian_matrix, hessian_matrix_eigvals, structure_tensor

from KeypointEngineLib.blocks.peaks import find_peaks
from KeypointEngineLib.features import Features
from KeypointEngineLib.geometry import ras_from_ijk
from KeypointEngineLib.volume.parameters import DetectionOptions
from KeypointEngineLib.volume.preprocess import to_working_grid

DESCRIPTOR_SCALES = (1.0, 2.0, 4.0)  # voxels of the working grid


def difference_of_gaussians(volume: np.ndarray, scales=(1.0, 2.0)) -> np.ndarray:
    responses = [np.abs(ndimage.gaussian_filter(volume, s) - ndimage.gaussian_filter(volume, 1.6 * s))
                 for s in scales]
    return np.max(responses, axis=0)


def harris(volume: np.ndarray, sigma: float = 1.5, k: float = 0.005) -> np.ndarray:
    a = structure_tensor(volume, sigma=sigma, order="rc")  # zz, zy, zx, yy, yx, xx
    zz, zy, zx, yy, yx, xx = a
    det = zz * (yy * xx - yx ** 2) - zy * (zy * xx - yx * zx) + zx * (zy * yx - yy * zx)
    return np.maximum(det - k * (zz + yy + xx) ** 3, 0)


def hessian_determinant(volume: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    eigenvalues = hessian_matrix_eigvals(hessian_matrix(volume, sigma=sigma, order="rc",
                                                        use_gaussian_derivatives=True))
    blob = np.all(eigenvalues < 0, axis=0) | np.all(eigenvalues > 0, axis=0)  # bright or dark blobs, not saddles
    return np.abs(np.prod(eigenvalues, axis=0)) * blob * sigma ** 6  # scale-normalised


DETECTORS = {"DoG-3D": difference_of_gaussians, "Harris-3D": harris, "Hessian-3D": hessian_determinant}


def invariant_descriptors(volume: np.ndarray, region: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 15) unit descriptors at `points` (x, y, z voxels) of `volume`."""
    channels = []
    for sigma in DESCRIPTOR_SCALES:
        smoothed = ndimage.gaussian_filter(volume, sigma)
        gradient = ndimage.gaussian_gradient_magnitude(volume, sigma)
        eigenvalues = hessian_matrix_eigvals(hessian_matrix(volume, sigma=sigma, order="rc",
                                                            use_gaussian_derivatives=True))
        channels += [smoothed, gradient, *eigenvalues]
    index = tuple(np.round(points[:, ::-1]).astype(int).T)  # (k, j, i)
    values = np.stack([channel[index] for channel in channels], axis=1)
    inside = np.stack([channel[region] for channel in channels], axis=1) if region.any() else values
    values = (values - inside.mean(axis=0)) / np.maximum(inside.std(axis=0), 1e-9)
    return (values / np.maximum(np.linalg.norm(values, axis=1, keepdims=True), 1e-9)).astype(np.float32)


class ClassicalExtractor:
    """`extract(array, ijk_to_ras, options) -> Features` as SP3DExtractor's, with a classical detector."""

    def __init__(self, name: str):
        self.name, self.response = name, DETECTORS[name]

    def extract(self, array: np.ndarray, ijk_to_ras: np.ndarray, options: DetectionOptions | None = None,
                mask: np.ndarray | None = None, job=None) -> Features:
        options = (options or DetectionOptions()).check()
        working = to_working_grid(array, ijk_to_ras, options.spacing_mm, mask, options.border_mm)
        score = self.response(working.array)
        radius = max(int(np.ceil(options.nms_mm / options.spacing_mm)), 1)
        points, scores = find_peaks(score, radius, 0.0, options.max_keypoints, working.mask)
        descriptors = invariant_descriptors(working.array, working.mask, points)
        return Features(ras_from_ijk(points, working.ijk_to_ras), scores.astype(np.float32), descriptors)
