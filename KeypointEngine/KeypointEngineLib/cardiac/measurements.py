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
    measures: dict = field(default_factory=dict)  # what the rule judged (quality_measures)


@dataclass(frozen=True)
class QualityRule:
    """Thresholds of the quality flag; `bench segment --calibrate` prints how they sort training patients'
    results into right (mean Dice >= 0.8) and wrong."""

    kept_fraction: float = 0.9  # of each structure's raw prediction in its largest piece
    ringed: float = 0.6  # median share of the LV cavity's rim that is myocardium


QUALITY_RULE = QualityRule()


def quality_measures(labels: np.ndarray, ijk_to_ras: np.ndarray, axis: int, raw: np.ndarray | None = None) -> dict:
    """What the quality flag judges: volumes (mL), each structure's share in its largest raw piece, the median share
    of the LV cavity's rim that is myocardium, and the number of slices where the RV touches the myocardium."""
    measures = {"volumes_ml": structure_volumes_ml(labels, ijk_to_ras), "kept_fraction": {}}
    for value, name in STRUCTURES.items():
        if raw is None or not (raw == value).any():
            continue
        components, count = ndimage.label(raw == value)
        largest = np.bincount(components.ravel())[1:].max() if count else 0
        measures["kept_fraction"][name] = float(largest / (raw == value).sum())
    ringed, touching = [], 0
    for section in np.moveaxis(labels, axis, 0):
        cavity = section == LV
        if cavity.sum() < 5:
            continue
        rim = ndimage.binary_dilation(cavity, iterations=2) & ~cavity
        ringed.append(float((section[rim] == MYO).mean()))
        touching += bool((ndimage.binary_dilation(section == MYO, iterations=2) & (section == RV)).any())
    measures["ringed"] = float(np.median(ringed)) if ringed else None
    measures["rv_touching_slices"] = touching
    return measures


def quality(labels: np.ndarray, ijk_to_ras: np.ndarray, axis: int, raw: np.ndarray | None = None,
            rule: QualityRule = QUALITY_RULE) -> Quality:
    """Is this a plausible short-axis segmentation? `labels` [k, j, i] after post-processing, `raw` before it (to
    judge fragmentation), `axis` the slicing axis.

    A heart seen in short axis shows every structure; the LV cavity is ringed by myocardium in the slices that hold
    it; the RV lies against that myocardium; each structure is (nearly) one piece; volumes are in a human range.
    Long-axis stacks, other anatomy and failed segmentations break at least one of these.
    """
    measures = quality_measures(labels, ijk_to_ras, axis, raw)
    reasons = quality_reasons(measures, rule)
    return Quality(not reasons, reasons, measures)


def quality_reasons(measures: dict, rule: QualityRule = QUALITY_RULE) -> list[str]:
    """Why `measures` (quality_measures) fail `rule`, in words a user can act on; empty when they pass."""
    reasons = []
    for name, volume in measures["volumes_ml"].items():
        if volume == 0:
            reasons.append(f"no {name.lower()} found")
        elif not PLAUSIBLE_ML[0] <= volume <= PLAUSIBLE_ML[1]:
            reasons.append(f"{name.lower()} of {volume:.0f} mL is outside a human range")
    for name, fraction in measures["kept_fraction"].items():
        if fraction < rule.kept_fraction:
            reasons.append(f"the {name.lower()} was found in several pieces ({1 - fraction:.0%} outside the largest)")
    if measures["ringed"] is not None and measures["ringed"] < rule.ringed:
        reasons.append(f"the left ventricle cavity is not ringed by myocardium (median {measures['ringed']:.0%} of "
                       "its rim): a long-axis stack, another view, or a failed segmentation")
    if measures["ringed"] is not None and not measures["rv_touching_slices"] and measures["volumes_ml"][STRUCTURES[RV]]:
        reasons.append("the right ventricle does not touch the left ventricle's myocardium in any slice")
    return reasons
