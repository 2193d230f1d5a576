"""Classical 3D keypoint detectors and a rotation-invariant descriptor, built from n-D library functions, on the
same working grid, body mask, NMS and budget as SP3D (so only the detector and descriptor differ): the "hessian"
keypoint backend, and the benchmark's classical baselines.

Detectors: difference of Gaussians (SIFT's, over two scales), Harris-3D (scikit-image's `structure_tensor`:
det - k trace^3) and the Hessian determinant where the curvature is
blob-like (SURF's detector; `hessian_matrix`). Descriptor: differential
invariants at three scales (smoothed intensity and gradient magnitude standardised over the body, the three sorted
Hessian eigenvalues over the body's Hessian norm), invariant to rotation as real repositioning needs.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.feature import hessian_matrix, structure_tensor

from KeypointEngineLib.blocks.peaks import find_peaks
from KeypointEngineLib.device import DeviceChoice, choose_device
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
    det = _determinant(zz, zy, zx, yy, yx, xx)
    return np.maximum(det - k * (zz + yy + xx) ** 3, 0)


def _determinant(zz, zy, zx, yy, yx, xx):
    return zz * (yy * xx - yx ** 2) - zy * (zy * xx - yx * zx) + zx * (zy * yx - yy * zx)


def hessian_determinant(volume: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    zz, zy, zx, yy, yx, xx = hessian_matrix(volume, sigma=sigma, order="rc", use_gaussian_derivatives=True)
    det, minor = _determinant(zz, zy, zx, yy, yx, xx), zz * yy - zy ** 2
    # bright or dark blobs (the Hessian negative or positive definite, by Sylvester's criterion), not saddles
    blob = (minor > 0) & (((zz < 0) & (det < 0)) | ((zz > 0) & (det > 0)))
    return np.abs(det) * blob * sigma ** 6  # scale-normalised


DETECTORS = {"DoG-3D": difference_of_gaussians, "Harris-3D": harris, "Hessian-3D": hessian_determinant}


def _eigenvalues(components: list[np.ndarray]) -> np.ndarray:
    """(3, N) eigenvalues, largest first, of N symmetric 3x3 matrices given as their (zz, zy, zx, yy, yx, xx)."""
    zz, zy, zx, yy, yx, xx = components
    matrices = np.stack([np.stack([zz, zy, zx], -1), np.stack([zy, yy, yx], -1), np.stack([zx, yx, xx], -1)], -2)
    return np.linalg.eigvalsh(matrices)[:, ::-1].T


def invariant_descriptors(volume: np.ndarray, region: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 15) unit descriptors at `points` (x, y, z voxels) of `volume`."""
    index = tuple(np.round(points[:, ::-1]).astype(int).T)  # (k, j, i)
    region = region if region.any() else np.ones(volume.shape, bool)
    channels = []
    for sigma in DESCRIPTOR_SCALES:
        for image in (ndimage.gaussian_filter(volume, sigma), ndimage.gaussian_gradient_magnitude(volume, sigma)):
            inside = image[region]
            channels.append((image[index] - inside.mean()) / max(float(inside.std()), 1e-9))
        hessian = hessian_matrix(volume, sigma=sigma, order="rc", use_gaussian_derivatives=True)
        # eigenvalues at the points only; their scale from the body's mean squared Frobenius norm (invariant too)
        squared = sum(weight * component[region] ** 2 for weight, component in zip((1, 2, 2, 1, 2, 1), hessian,
                                                                                  strict=True))
        scale = max(float(np.sqrt(squared.mean() / 3)), 1e-9)
        channels += list(_eigenvalues([component[index] for component in hessian]) / scale)
    values = np.stack(channels, axis=1)
    return (values / np.maximum(np.linalg.norm(values, axis=1, keepdims=True), 1e-9)).astype(np.float32)


class ClassicalExtractor:
    """`extract(array, ijk_to_ras, options) -> Features` as SP3DExtractor's, with a classical detector."""

    def __init__(self, name: str, device: DeviceChoice | None = None):
        self.name, self.response = name, DETECTORS[name]
        self.device = device or choose_device("cpu")  # numpy and SciPy: always the CPU

    def extract(self, array: np.ndarray, ijk_to_ras: np.ndarray, options: DetectionOptions | None = None,
                mask: np.ndarray | None = None, job=None) -> Features:
        options = (options or DetectionOptions()).check()
        working = to_working_grid(array, ijk_to_ras, options.spacing_mm, mask, options.border_mm)
        score = self.response(working.array)
        radius = max(int(np.ceil(options.nms_mm / options.spacing_mm)), 1)
        points, scores = find_peaks(score, radius, 0.0, options.max_keypoints, working.mask)
        descriptors = invariant_descriptors(working.array, working.mask, points)
        return Features(ras_from_ijk(points, working.ijk_to_ras), scores.astype(np.float32), descriptors)
