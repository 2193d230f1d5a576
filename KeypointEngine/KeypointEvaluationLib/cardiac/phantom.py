"""A short-axis cine phantom made at run time (labelled as such wherever shown): a stack of slices through an
ellipsoidal left ventricle (bright blood pool inside a darker myocardial wall) with a crescent right ventricle beside
it, in a noisy thorax, at a typical cine geometry (1.4 mm pixels, 8 mm slices) and a scanner's int16 range.

Not a heart: the demo and tests use it to exercise the whole path (geometry, nodes, measurements) with a known
answer; how well the network segments real hearts is what `bench segment` measures on ACDC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass
class Phantom:
    image: np.ndarray  # [k, j, i] int16
    labels: np.ndarray  # [k, j, i] uint8, ACDC values (1 RV, 2 myocardium, 3 LV)
    ijk_to_ras: np.ndarray


def short_axis_phantom(slices: int = 10, size: int = 192, pixel_mm: float = 1.4, slice_mm: float = 8.0,
                       systole: float = 0.0, seed: int = 0) -> Phantom:
    """`systole` 0 (end-diastole) .. 1 (end-systole): the cavities shrink and the wall thickens."""
    rng = np.random.default_rng(seed)
    k, j, i = np.meshgrid(np.arange(slices), np.arange(size), np.arange(size), indexing="ij")
    z = (k - (slices - 1) / 2) * slice_mm  # mm from the mid-ventricle, along the long axis
    y, x = (j - size / 2) * pixel_mm, (i - size / 2) * pixel_mm
    taper = np.sqrt(np.clip(1 - (z / 48.0) ** 2, 0, 1))  # the ventricle narrows towards apex and base
    lv_radius = (26.0 - 8.0 * systole) * taper
    wall = 9.0 + 4.0 * systole
    r_lv = np.hypot(x, y)
    cavity = r_lv < lv_radius
    myocardium = (r_lv < lv_radius + wall) & ~cavity & (taper > 0)
    rv_centre = lv_radius + wall + 14.0 - 4.0 * systole
    r_rv = np.hypot((x + rv_centre) / 1.25, y / 0.85)
    rv = (r_rv < 22.0 * taper * (1 - 0.3 * systole)) & ~myocardium & ~cavity & (r_lv > lv_radius + wall)
    labels = np.zeros(cavity.shape, np.uint8)
    labels[rv], labels[myocardium], labels[cavity] = 1, 2, 3
    thorax = np.hypot(x / 1.3, y) < 120.0
    image = np.where(thorax, 350.0, 0.0) + rng.normal(0, 40, labels.shape) * thorax
    image[myocardium] = 250.0
    image[cavity | rv] = 900.0
    image = ndimage.gaussian_filter(image, (0, 1.0, 1.0)) + np.abs(rng.normal(0, 15, labels.shape))
    ijk_to_ras = np.diag([-pixel_mm, -pixel_mm, slice_mm, 1.0])
    return Phantom(np.clip(image, 0, 4000).astype(np.int16), labels, ijk_to_ras)
