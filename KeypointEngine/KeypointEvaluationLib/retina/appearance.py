"""Appearance changes and modality simulation for retinal images, for benchmarks and training.

Inputs and outputs are uint8 images [rows, cols(, 3)]. Sizes are relative to the image, so the same settings behave
alike on a 565-px DRIVE image and a 2912-px FIRE image.
"""

from __future__ import annotations

import cv2
import numpy as np

from KeypointEngineLib.retina.field_of_view import field_of_view_mask
from KeypointEngineLib.retina.preprocess import to_gray


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def _uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def illumination_falloff(image: np.ndarray, rng: np.random.Generator, strength: float = 0.5) -> np.ndarray:
    """Uneven illumination: a smooth bright spot off centre and darker periphery."""
    rows, cols = image.shape[:2]
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float32)
    cy, cx = rng.uniform(0.3, 0.7) * rows, rng.uniform(0.3, 0.7) * cols
    radius2 = ((y - cy) ** 2 + (x - cx) ** 2) / (0.5 * max(rows, cols)) ** 2
    gain = 1.0 + strength * rng.uniform(0.5, 1.0) * (np.exp(-radius2) - 0.5)
    gain = gain[..., None] if image.ndim == 3 else gain
    return _uint8(_unit(image) * gain)


def lesions(image: np.ndarray, rng: np.random.Generator, count: int = 12) -> np.ndarray:
    """Lesion-like blobs: yellowish exudates and dark red haemorrhages of random size, soft-edged."""
    result = _unit(image).copy()
    rows, cols = image.shape[:2]
    mask = field_of_view_mask(to_gray(image)) > 0
    ys, xs = np.nonzero(mask)
    for _ in range(count):
        index = rng.integers(len(ys))
        blob = np.zeros((rows, cols), np.float32)
        radius = rng.uniform(0.005, 0.03) * max(rows, cols)
        axes = (int(radius), int(radius * rng.uniform(0.5, 1.0)))
        cv2.ellipse(blob, (int(xs[index]), int(ys[index])), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        blob = cv2.GaussianBlur(blob, (0, 0), radius / 3 + 0.5)
        if result.ndim == 3:
            blob = blob[..., None]
        if rng.random() < 0.5:
            color = np.array([0.95, 0.85, 0.4], np.float32)  # exudate
        else:
            color = np.array([0.35, 0.05, 0.03], np.float32)  # haemorrhage
        target = color if result.ndim == 3 else np.float32(color[1])
        result = result * (1 - 0.85 * blob) + target * 0.85 * blob
    return _uint8(result)


def blur(image: np.ndarray, sigma_fraction: float) -> np.ndarray:
    """Gaussian defocus with sigma given as a fraction of the image size."""
    return cv2.GaussianBlur(image, (0, 0), max(sigma_fraction * max(image.shape[:2]), 0.3))


def photometric(image: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> np.ndarray:
    """Exposure and colour of another camera or day: gamma, gain, per-channel cast (HSV-like jitter), noise."""
    result = np.power(_unit(image), rng.uniform(1 - 0.3 * amount, 1 + 0.4 * amount))
    result = result * rng.uniform(1 - 0.25 * amount, 1 + 0.2 * amount)
    if result.ndim == 3:
        result = result * rng.uniform(1 - 0.2 * amount, 1 + 0.2 * amount, size=(1, 1, 3)).astype(np.float32)
    result = result + rng.normal(0, 0.01 * amount, result.shape).astype(np.float32)
    return _uint8(result)


def vessels_and_background(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vessel map 0..1 with vessels high, smooth background 0..1, field-of-view mask) from a colour fundus image."""
    gray = _unit(to_gray(image))
    size = max(image.shape[:2])
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(size * 0.025) | 1,) * 2)
    vessels = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)  # thin dark structures
    vessels = np.clip(vessels / max(float(np.percentile(vessels, 99.5)), 1e-6), 0, 1)
    background = cv2.GaussianBlur(gray, (0, 0), size * 0.02)
    mask = field_of_view_mask(to_gray(image)) > 0
    return vessels, background, mask


def to_angiography(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Simulated fluorescein angiography: vessels bright on a dark, mottled choroidal background; grey."""
    vessels, background, mask = vessels_and_background(image)
    size = max(image.shape[:2])
    mottle = cv2.GaussianBlur(rng.normal(0, 1, image.shape[:2]).astype(np.float32), (0, 0), size * 0.01)
    mottle = mottle / max(float(np.abs(mottle).max()), 1e-6)
    result = (rng.uniform(0.15, 0.3) + rng.uniform(0.1, 0.3) * (1 - background) + 0.05 * mottle
              + rng.uniform(0.55, 0.8) * np.power(vessels, rng.uniform(0.6, 1.0)))
    result = cv2.GaussianBlur(result, (0, 0), size * 0.0008 + 0.3) + rng.normal(0, 0.015, result.shape)
    return _uint8(np.where(mask, result, 0))


def to_infrared(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Simulated infrared / SLO reflectance: grey, low vessel contrast, speckle, smooth background."""
    vessels, background, mask = vessels_and_background(image)
    result = (rng.uniform(0.35, 0.55) + rng.uniform(0.1, 0.3) * (background - background.mean())
              - rng.uniform(0.15, 0.3) * vessels)
    result = result * rng.gamma(20.0, 1 / 20.0, result.shape).astype(np.float32)  # multiplicative speckle
    return _uint8(np.where(mask, cv2.GaussianBlur(result, (0, 0), 0.7), 0))


# a structural OCT volume as devices scan it (e.g. 512 x 128, 200 x 200, 512 x 256 A-scans by B-scans over the field)
A_SCANS_PER_B_SCAN = (200, 512)  # fast axis: along each B-scan (image rows)
B_SCANS = (96, 256)  # slow axis: B-scans stacked down the field
SPECKLE_LOOKS = (8, 50)  # independent speckle samples averaged into an en-face px: a thin slab to a full projection
SACCADES = 3  # at most, per volume; tracking leaves sub-px seams
BLINK_PROBABILITY = 0.15


def to_oct_enface(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Simulated structural OCT en-face projection, as a raster scan makes it: grey, vessels as dark shadows.

    The device sweeps B-scans along the rows (200-512 A-scans each: the fast axis) and stacks 96-256 of them down the
    field (the slow axis), so the en-face image is usually sharper along rows than down columns (the two are drawn
    apart: a 200 x 200 protocol is square), stretched back to the field's shape for display; a field narrower than
    the scan keeps its own px along that axis. Each en-face px averages the depth of a slab, leaving the speckle of
    8-50 independent looks (gamma-distributed, at the scan's own px). The eye moves during the seconds a volume
    takes: up to three saccades shift all later B-scans sideways (by under a scan px, once tracking has corrected
    them), and a blink sometimes darkens a band of B-scans. Sizes are relative to the field's extent, so the same
    settings behave alike at any px scale. Draws come from a generator of its own (one draw of `rng`), so the
    pairs drawn after an en-face view do not depend on how many this simulation takes."""
    rng = np.random.default_rng(rng.integers(2 ** 63))
    rows, cols = image.shape[:2]
    vessels, background, mask = vessels_and_background(image)
    result = rng.uniform(0.4, 0.6) + 0.15 * (background - background.mean()) - rng.uniform(0.2, 0.35) * vessels
    _, _, width, height = cv2.boundingRect(mask.astype(np.uint8))  # the scanned field
    extent = max(width, height, 1)
    fast = min(1.0, rng.uniform(*A_SCANS_PER_B_SCAN) / extent)
    slow = min(1.0, rng.uniform(*B_SCANS) / extent)
    scan = cv2.resize(result, (max(1, round(cols * fast)), max(1, round(rows * slow))), interpolation=cv2.INTER_AREA)
    looks = float(np.exp(rng.uniform(*np.log(SPECKLE_LOOKS))))
    scan = scan * rng.gamma(looks, 1 / looks, scan.shape).astype(np.float32)
    for _ in range(int(rng.integers(0, SACCADES + 1)) if scan.shape[0] > 1 else 0):
        line = int(rng.integers(1, scan.shape[0]))
        shift = np.float32([[1, 0, rng.normal(0, 0.5)], [0, 1, 0]])
        scan[line:] = cv2.warpAffine(scan[line:], shift, scan[line:].shape[::-1], borderMode=cv2.BORDER_REFLECT)
    if rng.random() < BLINK_PROBABILITY:
        start = int(rng.integers(0, scan.shape[0]))
        scan[start:start + max(1, round(rng.uniform(0.01, 0.04) * scan.shape[0]))] *= 0.1
    result = cv2.resize(scan, (cols, rows), interpolation=cv2.INTER_LINEAR)
    return _uint8(np.where(mask, result, 0))


MODALITIES = {"angiography": to_angiography, "infrared": to_infrared, "oct_enface": to_oct_enface}
