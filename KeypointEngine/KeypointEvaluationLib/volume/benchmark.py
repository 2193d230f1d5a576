"""Run every method on the benchmark's pairs (cases.py) and summarise: keypoint measures, TRE, success (TRE <= 4 mm)
per rotation bin, per field-of-view cut and on the real pairs, `confident` precision, seconds per volume.

Keypoint methods share one budget (DetectionOptions: the top 500 after 4 mm NMS inside the body mask) and the
engine's matching and rigid fit; intensity methods return their transform directly. A fixed volume's keypoints are
computed once (many pairs share it); seconds are those of the moving volumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from KeypointEngineLib.registration import ConfidenceRule
from KeypointEngineLib.volume.matching import match_volumes
from KeypointEngineLib.volume.parameters import DetectionOptions
from KeypointEngineLib.volume.preprocess import to_working_grid
from KeypointEvaluationLib.volume.cases import ANGLE_BINS, CaseSpec, make_case
from KeypointEvaluationLib.volume.metrics import grid_points, keypoint_scores, target_registration_error

SUCCESS_MM = 4.0
BUDGET = DetectionOptions(max_keypoints=500, threshold=0.0, nms_mm=4.0)


def run_benchmark(specs: list[CaseSpec], data: Path, extractors: dict, intensity: dict[str, Callable],
                  log: Callable[[str], None] = print) -> list[dict]:
    """One record per (pair, method)."""
    records, fixed_cache, fixed_grids = [], {}, {}
    for number, spec in enumerate(specs, 1):
        case = make_case(spec, data)
        if spec.fixed not in fixed_grids:  # many pairs share a fixed volume: its grid and body once
            fixed_grids[spec.fixed] = to_working_grid(case.fixed.array, case.fixed.ijk_to_ras, BUDGET.spacing_mm,
                                                      border_mm=BUDGET.border_mm)
        fixed_working = fixed_grids[spec.fixed]
        moving_working = to_working_grid(case.moving.array, case.moving.ijk_to_ras, BUDGET.spacing_mm,
                                         border_mm=BUDGET.border_mm)
        grid = grid_points(fixed_working)
        body_mm3 = float(fixed_working.mask.sum()) * BUDGET.spacing_mm ** 3
        base = dict(case=spec.name, group=spec.group, angle=spec.angle, cut=spec.cut)
        for name, extractor in extractors.items():
            key = (name, spec.fixed)
            if key not in fixed_cache:
                fixed_cache[key] = extractor.extract(case.fixed.array, case.fixed.ijk_to_ras, BUDGET)
            fixed = fixed_cache[key]
            start = time.perf_counter()
            moving = extractor.extract(case.moving.array, case.moving.ijk_to_ras, BUDGET)
            seconds = time.perf_counter() - start
            scores = (keypoint_scores(fixed, moving, case.fixed_to_moving, fixed_working, moving_working)
                      if case.fixed_to_moving is not None else None)
            registration = match_volumes(fixed, moving, reference_mm3=body_mm3)
            estimate = registration.model.forward if registration.model is not None else None
            tre = target_registration_error(estimate, case.fixed_to_moving, grid)
            records.append({**base, "method": name, "kind": "keypoints", "tre_mm": tre,
                            "confident": bool(registration.report.confident), "seconds": seconds,
                            "keypoints": len(moving), "inliers": registration.report.inliers,
                            "matches": registration.report.matches,
                            **({"repeatability": scores.repeatability, "matching_score": scores.matching_score,
                                "mdbl_mm": scores.mdbl} if scores else {})})
        for name, method in intensity.items():
            start = time.perf_counter()
            try:
                estimate = method(case.fixed, case.moving)
            except Exception as error:  # a failed registration is a result, not a crash of the benchmark
                log(f"  {name} failed on {spec.name}: {error}")
                estimate = None
            records.append({**base, "method": name, "kind": "intensity", "seconds": time.perf_counter() - start,
                            "tre_mm": target_registration_error(estimate, case.fixed_to_moving, grid)})
        done = [record for record in records if record["case"] == spec.name]
        log(f"[{number}/{len(specs)}] {spec.name}: " + ", ".join(
            f"{record['method']} {record['tre_mm']:.1f} mm" for record in done))
    return records


def summarise(records: list[dict], rule: ConfidenceRule | None = None) -> dict[str, dict]:
    """Per method: keypoint measures on the held-out warps, success per rotation bin / cut / real pairs,
    `confident` precision and recall, median seconds per volume. With `rule`, keypoint methods' `confident` is
    decided again by it from each pair's inliers and matches (stored records, a new rule)."""
    if rule is not None:
        records = [{**r, "confident": bool(r["inliers"] and rule(r["inliers"], r["matches"]))}
                   if r["kind"] == "keypoints" else r for r in records]
    summary = {}
    for method in dict.fromkeys(record["method"] for record in records):
        mine = [record for record in records if record["method"] == method]
        rotation = [record for record in mine if record["group"] == "rotation"]
        per = "seconds_per_volume" if mine[0]["kind"] == "keypoints" else "seconds_per_pair"
        row = {"pairs": len(mine), per: float(np.median([r["seconds"] for r in mine]))}
        if mine[0]["kind"] == "keypoints":
            for key in ("repeatability", "matching_score", "mdbl_mm", "keypoints"):
                values = [r[key] for r in rotation if np.isfinite(r.get(key, np.nan))]
                row[key] = float(np.mean(values)) if values else float("nan")
            confident = [r for r in mine if r["confident"]]
            right = [r for r in mine if r["tre_mm"] <= SUCCESS_MM]
            row["confident_pairs"] = len(confident)
            row["confident_precision"] = (float(np.mean([r["tre_mm"] <= SUCCESS_MM for r in confident]))
                                          if confident else float("nan"))
            row["confident_recall"] = (float(np.mean([r["confident"] for r in right])) if right else float("nan"))
            row["confident_unrelated"] = sum(r["confident"] for r in mine if r["group"] == "unrelated")
        row["success_by_angle"] = {f"{low}-{high}": _success([r for r in rotation if low <= r["angle"] < high])
                                   for low, high in ANGLE_BINS}
        cuts = sorted({r["cut"] for r in mine if r["group"] == "cut"})
        row["success_by_cut"] = {f"{cut:.2f}": _success([r for r in mine if r["group"] == "cut" and r["cut"] == cut])
                                 for cut in cuts}
        row["success_real"] = _success([r for r in mine if r["group"] == "real"])
        row["median_tre_mm"] = float(np.median([r["tre_mm"] for r in mine]))
        summary[method] = row
    return summary


def calibrate(records: list[dict], methods: tuple[str, ...], precision: float = 0.99
              ) -> tuple[ConfidenceRule, float, float]:
    """(rule, precision, recall): the confidence rule (minimum inliers, minimum inlier ratio) that keeps the confident
    results of `methods` (pooled: one rule serves every keypoint backend) right at least `precision` of the time
    (unrelated pairs count as wrong) and, among those rules, calls the most right results confident."""
    pooled = [r for r in records if r["method"] in methods]
    fitted = [r for r in pooled if r["inliers"]]
    right = sum(r["tre_mm"] <= SUCCESS_MM for r in pooled)
    best = (ConfidenceRule(10_000, 1.0), float("nan"), 0.0)
    for inliers in range(6, 201):
        for ratio in np.arange(0.0, 0.61, 0.05):
            chosen = [r for r in fitted if r["inliers"] >= inliers and r["inliers"] / max(r["matches"], 1) >= ratio]
            if not chosen:
                continue
            good = sum(r["tre_mm"] <= SUCCESS_MM for r in chosen)
            recall = good / max(right, 1)
            if good / len(chosen) >= precision and recall > best[2]:
                best = (ConfidenceRule(inliers, round(float(ratio), 2)), good / len(chosen), recall)
    return best


def _success(records: list[dict]) -> float:
    return float(np.mean([r["tre_mm"] <= SUCCESS_MM for r in records])) if records else float("nan")


def plot_success(summary: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (by_angle, by_cut) = plt.subplots(1, 2, figsize=(11, 4.2))
    for method, row in summary.items():
        bins = list(row["success_by_angle"])
        by_angle.plot(range(len(bins)), [100 * row["success_by_angle"][b] for b in bins], marker="o", label=method)
        if row["success_by_cut"]:
            cuts = list(row["success_by_cut"])
            by_cut.plot([100 * float(c) for c in cuts], [100 * row["success_by_cut"][c] for c in cuts], marker="o",
                        label=method)
    by_angle.set_xticks(range(len(ANGLE_BINS)), [f"{low}-{high}" for low, high in ANGLE_BINS])
    by_angle.set(xlabel="rotation (degrees; + 30 mm shift, 30 % of the slices cut)", ylabel="success (TRE <= 4 mm), %",
                 ylim=(-3, 103), title="Held-out volumes under repositioning")
    by_cut.set(xlabel="slices cut away, % (rotation 0-90 degrees)", ylabel="success, %", ylim=(-3, 103),
               title="Field-of-view cut")
    by_angle.legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
