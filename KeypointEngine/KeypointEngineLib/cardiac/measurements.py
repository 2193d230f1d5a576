"""Clinical measurements of a cardiac segmentation and the quality flag that says whether to trust it.

Volumes in mL from voxel counts and the voxel volume; with end-diastole (ED) and end-systole (ES): stroke volumes,
ejection fractions (EDV - ESV) / EDV, and the left-ventricular myocardial mass at ED at 1.05 g/mL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

STRUCTURES = {1: "Right ventricle cavity", 2: "Left ventricle myocardium", 3: "Left ventricle cavity"}
RV, MYO, LV = 1, 2, 3
MYOCARDIUM_DENSITY = 1.05  # g/mL
PLAUSIBLE_ML = (2.0, 700.0)  # any structure outside: not a heart, or not segmented as one


def structure_volumes_ml(labels: np.ndarray, ijk_to_ras: np.ndarray) -> dict[str, float]:
    voxel_ml = abs(float(np.linalg.det(np.asarray(ijk_to_ras, float)[:3, :3]))) / 1000.0  # sheared voxels too
    return {name: float((labels == value).sum()) * voxel_ml for value, name in STRUCTURES.items()}


def cardiac_function(ed: dict[str, float], es: dict[str, float]) -> dict[str, float]:
    """Ventricular function from the ED and ES volumes (structure_volumes_ml); an EF is NaN where its EDV is 0."""
    results = {}
    for side, name in (("LV", STRUCTURES[LV]), ("RV", STRUCTURES[RV])):
        edv, esv = ed[name], es[name]
        results[f"{side} end-diastolic volume (mL)"] = edv
        results[f"{side} end-systolic volume (mL)"] = esv
        results[f"{side} stroke volume (mL)"] = edv - esv
        results[f"{side} ejection fraction (%)"] = 100.0 * (edv - esv) / edv if edv > 0 else float("nan")
    results["LV myocardial mass (g)"] = ed[STRUCTURES[MYO]] * MYOCARDIUM_DENSITY
    return results


@dataclass
class Quality:
    ok: bool
    reasons: list[str] = field(default_factory=list)  # why not, in words a user can act on


def quality(labels: np.ndarray, ijk_to_ras: np.ndarray, axis: int, raw: np.ndarray | None = None) -> Quality:
    """Is this a plausible short-axis segmentation? `labels` [k, j, i] after post-processing, `raw` before it (to
    judge fragmentation), `axis` the slicing axis.

    A heart seen in short axis shows every structure; the LV cavity is ringed by myocardium in the slices that hold
    it; the RV lies against that myocardium; each structure is one piece; volumes are in a human range. Long-axis
    stacks, other anatomy and failed segmentations break at least one of these.
    """
    reasons = []
    volumes = structure_volumes_ml(labels, ijk_to_ras)
    for name, volume in volumes.items():
        if volume == 0:
            reasons.append(f"no {name.lower()} found")
        elif not PLAUSIBLE_ML[0] <= volume <= PLAUSIBLE_ML[1]:
            reasons.append(f"{name.lower()} of {volume:.0f} mL is outside a human range")
    if raw is not None:
        for value, name in STRUCTURES.items():
            components, count = ndimage.label(raw == value)
            if count > 1:
                largest = np.bincount(components.ravel())[1:].max()
                if largest < 0.9 * (raw == value).sum():
                    reasons.append(f"the {name.lower()} was found in several pieces")
    slices = np.moveaxis(labels, axis, 0)
    ringed, touching, held = [], 0, 0
    for section in slices:
        cavity = section == LV
        if cavity.sum() < 5:
            continue
        held += 1
        rim = ndimage.binary_dilation(cavity, iterations=2) & ~cavity
        ringed.append(float((section[rim] == MYO).mean()))
        myocardium_rim = ndimage.binary_dilation(section == MYO, iterations=2)
        touching += bool((myocardium_rim & (section == RV)).any())
    if held and np.median(ringed) < 0.6:
        reasons.append(f"the left ventricle cavity is not ringed by myocardium (median {np.median(ringed):.0%} of "
                       "its rim): a long-axis stack, another view, or a failed segmentation")
    if held and touching == 0 and volumes[STRUCTURES[RV]] > 0:
        reasons.append("the right ventricle does not touch the left ventricle's myocardium in any slice")
    return Quality(not reasons, reasons)
