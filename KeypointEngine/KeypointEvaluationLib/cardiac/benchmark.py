"""`bench segment`'s protocol: every model on the 13 validation patients (splits.py), ED and ES separately.

Per frame and structure: 3D Dice (MONAI DiceMetric) and HD95 (MONAI HausdorffDistanceMetric, percentile 95) in mm at
the frame's spacing (the data README's assumed 1.5625 x 1.5625 x 10 mm for the HDF5 frames); an empty prediction of a
structure present in the truth is a failure: Dice 0 and HD95 counted apart, not averaged. Seconds per volume; the
quality flag's precision (flagged ok and right, right = mean Dice >= 0.8) and recall.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from KeypointEngineLib.cardiac.measurements import STRUCTURES
from KeypointEngineLib.geometry import spacing_of
from KeypointEvaluationLib.cardiac.datasets import CardiacFrame

RIGHT_DICE = 0.8  # a frame whose mean Dice reaches this is "right" for the quality flag's precision


@dataclass
class FrameScore:
    patient: str
    phase: str
    dice: dict[str, float]
    hd95_mm: dict[str, float | None]  # None: a failure (empty prediction)
    seconds: float
    quality_ok: bool
    measures: dict | None = None  # what the quality flag judged (quality_measures)

    @property
    def mean_dice(self) -> float:
        return float(np.mean(list(self.dice.values())))

    def to_dict(self) -> dict:
        return {"patient": self.patient, "phase": self.phase, "dice": self.dice, "hd95_mm": self.hd95_mm,
                "mean_dice": self.mean_dice, "seconds": self.seconds, "quality_ok": self.quality_ok,
                "quality_measures": self.measures}


def one_hot(labels: np.ndarray) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.from_numpy(labels.astype(np.int64)), len(STRUCTURES) + 1
                                       ).movedim(-1, 0)[None].float()


def score(prediction: np.ndarray, truth: np.ndarray, ijk_to_ras: np.ndarray) -> tuple[dict, dict]:
    """(Dice per structure, HD95 in mm per structure, None where the prediction is empty)."""
    from monai.metrics import DiceMetric, HausdorffDistanceMetric

    predicted, expected = one_hot(prediction), one_hot(truth)
    dice = DiceMetric(include_background=False)(predicted, expected)[0].tolist()
    spacing = [float(s) for s in spacing_of(ijk_to_ras)[::-1]]  # along [k, j, i]
    hd95 = HausdorffDistanceMetric(include_background=False, percentile=95)(predicted, expected, spacing=spacing)
    hd95 = hd95[0].tolist()
    names = list(STRUCTURES.values())
    empty = [not (prediction == value).any() for value in STRUCTURES]
    absent = [not (truth == value).any() for value in STRUCTURES]  # MONAI gives NaN: agreement is 1, else 0
    dice = [float(missed) if gone else 0.0 if miss else float(value)
            for value, miss, gone, missed in zip(dice, empty, absent, empty, strict=True)]
    return (dict(zip(names, dice, strict=True)),
            {name: None if miss or gone or not np.isfinite(value) else float(value)
             for name, value, miss, gone in zip(names, hd95, empty, absent, strict=True)})


def evaluate(segmenter, frames: list[CardiacFrame], options=None, job=None) -> list[FrameScore]:
    """Every frame segmented by `segmenter` (a CardiacSegmenter) and scored against its labels."""
    scores = []
    for frame in frames:
        start = time.perf_counter()
        output = segmenter.segment(frame.image, frame.ijk_to_ras, options)
        seconds = time.perf_counter() - start
        dice, hd95 = score(output.labels, frame.labels, frame.ijk_to_ras)
        scores.append(FrameScore(frame.patient, frame.phase, dice, hd95, seconds, output.quality.ok,
                                 output.quality.measures))
    return scores


def summarise(scores: list[FrameScore]) -> dict:
    """Mean Dice and HD95 per structure and overall, ED and ES apart and together, failures, seconds, and the
    quality flag's precision and recall."""
    summary = {}
    for phase in ("ED", "ES", "all"):
        chosen = [s for s in scores if phase == "all" or s.phase == phase]
        if not chosen:
            continue
        part = {}
        for name in STRUCTURES.values():
            distances = [s.hd95_mm[name] for s in chosen if s.hd95_mm[name] is not None]
            part[name] = {"dice": float(np.mean([s.dice[name] for s in chosen])),
                          "hd95_mm": float(np.mean(distances)) if distances else None,
                          "failures": sum(s.hd95_mm[name] is None for s in chosen)}
        part["mean_dice"] = float(np.mean([s.mean_dice for s in chosen]))
        distances = [part[name]["hd95_mm"] for name in STRUCTURES.values() if part[name]["hd95_mm"] is not None]
        part["mean_hd95_mm"] = float(np.mean(distances)) if distances else None
        summary[phase] = part
    right = [s.mean_dice >= RIGHT_DICE for s in scores]
    flagged = [s.quality_ok for s in scores]
    true_ok = sum(r and f for r, f in zip(right, flagged, strict=True))
    summary["seconds_per_volume"] = float(np.median([s.seconds for s in scores]))
    summary["quality_precision"] = true_ok / sum(flagged) if any(flagged) else None
    summary["quality_recall"] = true_ok / sum(right) if any(right) else None
    summary["frames"] = len(scores)
    return summary


def over_draws(summaries: list[dict]) -> dict:
    """Mean and sd over the draws of a few-shot configuration, of the overall mean Dice."""
    values = [summary["all"]["mean_dice"] for summary in summaries]
    return {"mean_dice": float(np.mean(values)), "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "draws": len(values)}


def calibration(scores: list[FrameScore], kept=(0.5, 0.6, 0.7, 0.8, 0.9), ringed=(0.4, 0.5, 0.6, 0.7)) -> list[dict]:
    """Precision and recall of the quality flag under each pair of thresholds, on frames scored with their measures
    (run it on training patients: thresholds chosen on the validation patients would flatter the flag there)."""
    from KeypointEngineLib.cardiac.measurements import QualityRule, quality_reasons

    right = [s.mean_dice >= RIGHT_DICE for s in scores]
    rows = []
    for kept_fraction in kept:
        for ring in ringed:
            rule = QualityRule(kept_fraction, ring)
            flagged = [not quality_reasons(s.measures, rule) for s in scores]
            true_ok = sum(r and f for r, f in zip(right, flagged, strict=True))
            rows.append({"kept_fraction": kept_fraction, "ringed": ring, "flagged": sum(flagged),
                         "precision": true_ok / sum(flagged) if any(flagged) else None,
                         "recall": true_ok / sum(right) if any(right) else None})
    return rows
