"""Checks on real image pairs that owe nothing to any simulation.

- **Forward-backward consistency** on real same-eye pairs: register A onto B and B onto A; carried from A to B and
  back, a point of their overlap should come home. The distance it misses by (mean over the overlap, px on a 2912-px
  field of view as FIRE scales errors) is at most about the sum of the two registrations' errors, so a large miss
  proves one of them wrong; a small one proves neither right (two registrations can be wrong consistently, as on
  text burnt into both images).
- **Wrong-eye pairs**, which must never be called confident: the left and right eye of one child (CHASE_DB1), eyes of
  different patients (DRIVE, the angiograms, the infrared images).

Pairs come from the data folder (README there); the ones it lacks are left out. CHASE_DB1 is also the learned
model's training data: its wrong-eye pairs test that confidence is not fooled by eyes the model has seen, not unseen
ones. Errors are scaled by the field's equal-area disc; for the square infrared fields that disc is 1.13 times the
side, so their px figures read about 11 % lower than a side-based scale would give.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from KeypointEngineLib.fitting import GeometricModel
from KeypointEngineLib.retina.field_of_view import field_diameter, field_of_view_mask
from KeypointEngineLib.retina.preprocess import to_gray
from KeypointEvaluationLib.retina.benchmark import EVIDENCE
from KeypointEvaluationLib.retina.pair import FIRE_FOV_PX

CONSISTENCY_TARGET_PX = 2.0
_FA = "fundus-modalities/fa/JPEGImages_"
_IR = "fundus-modalities/ir/spectralis_"
SAME_EYE = (  # (name, A, B): one eye, other fields or phases
    ("FA 2-1 / 2-2", f"{_FA}2-1___016.jpg", f"{_FA}2-2__018.jpg"),
    ("FA 11-2 / 11-3", f"{_FA}11-2__021.jpg", f"{_FA}11-3__026.jpg"),
    ("FA 20-1 / 20-2", f"{_FA}20-1__030.jpg", f"{_FA}20-2__033.jpg"),
    ("IR macula / disc", f"{_IR}Willis_B_716_0.png", f"{_IR}Willis_B_716_2.png"),
)
OTHER_EYES = (  # (name, A, B): different eyes that happen to share a modality
    ("IR 716 / other eye", f"{_IR}Willis_B_716_0.png", f"{_IR}valid.png"),
    ("FA 2-1 / 11-2", f"{_FA}2-1___016.jpg", f"{_FA}11-2__021.jpg"),
    ("FA 20-1 / 14-1", f"{_FA}20-1__030.jpg", f"{_FA}14-1__014.jpg"),
)


@dataclass(frozen=True)
class RealPair:
    name: str
    same_eye: bool
    first: Path
    second: Path
    fields_of_view: tuple[float, float] = (45.0, 45.0)  # the cameras' (degrees), as a user would give them


def real_pairs(data: Path) -> list[RealPair]:
    """Every real check pair the data folder has: same-eye pairs, then wrong-eye pairs."""
    pairs = [RealPair(name, True, data / a, data / b, (_field(a), _field(b))) for name, a, b in SAME_EYE]
    pairs += [RealPair(name, False, data / a, data / b, (_field(a), _field(b))) for name, a, b in OTHER_EYES]
    chase = data / "fundus" / "CHASEDB1"
    for left in sorted(chase.glob("Image_*L.jpg")):
        right = left.with_name(left.name.replace("L.jpg", "R.jpg"))
        pairs.append(RealPair(f"CHASE_DB1 {left.stem[6:-1]} left / right eye", False, left, right, (30.0, 30.0)))
    drive = sorted((data / "fundus" / "DRIVE" / "testing" / "images").glob("*.tif"))
    for first, second in zip(drive[0::2], drive[1::2], strict=False):
        pairs.append(RealPair(f"DRIVE {first.stem[:2]} / {second.stem[:2]}", False, first, second))
    return [pair for pair in pairs if pair.first.is_file() and pair.second.is_file()]


def _field(relative: str) -> float:
    """The infrared images are 30° Spectralis fields; the angiograms' field is not recorded: 45°, the usual."""
    return 30.0 if relative.startswith(_IR) else 45.0


def forward_backward_px(forward: GeometricModel | None, backward: GeometricModel | None, first: np.ndarray,
                        second: np.ndarray, step: int = 8) -> float:
    """Mean distance (px on a 2912-px field of view of `first`) by which points of the overlap miss themselves when
    carried first -> second by `forward` and back by `backward` (each maps its fixed image onto its moving one);
    infinite when either registration failed or they share no field."""
    if forward is None or backward is None:
        return float("inf")
    first_field, second_field = (field_of_view_mask(to_gray(image)) > 0 for image in (first, second))
    ys, xs = np.nonzero(first_field[::step, ::step])
    points = np.c_[xs, ys].astype(float) * step
    there = forward.fixed_to_moving(points)
    rows, cols = second_field.shape
    finite = np.isfinite(there).all(axis=1)
    x, y = np.round(np.where(finite[:, None], there, -1)).astype(int).T
    inside = finite & (x >= 0) & (x < cols) & (y >= 0) & (y < rows)
    inside[inside] = second_field[y[inside], x[inside]]
    if not inside.any():
        return float("inf")
    home = backward.fixed_to_moving(there[inside])
    diameter = field_diameter(first_field)
    missed = float(np.linalg.norm(home - points[inside], axis=1).mean() * FIRE_FOV_PX / diameter)
    return missed if np.isfinite(missed) else float("inf")


@dataclass
class CheckResult:
    name: str
    same_eye: bool
    forward_backward_px: float  # same-eye pairs; NaN for wrong-eye pairs
    confident: list[bool]  # both directions for same-eye pairs, one for wrong-eye pairs
    evidence: list[dict] = field(default_factory=list)  # what each direction's confidence stood on (EVIDENCE)


# (fixed, moving, fixed and moving field of view in degrees or None) -> a Registration
Register = Callable[[np.ndarray, np.ndarray, float | None, float | None], object]


def run_checks(register: Register, pairs: list[RealPair], read: Callable[[Path], np.ndarray],
               fields_known: bool = True) -> list[CheckResult]:
    """Each pair registered with the cameras' fields of view, or with none (`fields_known` False: the default, which
    searches the scale, and so tries more transforms on a wrong-eye pair)."""
    results = []
    for pair in pairs:
        first, second = read(pair.first), read(pair.second)
        fields = pair.fields_of_view if fields_known else (None, None)
        forward = register(first, second, *fields)
        if not pair.same_eye:
            results.append(CheckResult(pair.name, False, float("nan"), [bool(forward.report.confident)],
                                       [_evidence(forward)]))
            continue
        backward = register(second, first, *fields[::-1])
        results.append(CheckResult(pair.name, True, forward_backward_px(forward.model, backward.model, first, second),
                                   [bool(forward.report.confident), bool(backward.report.confident)],
                                   [_evidence(forward), _evidence(backward)]))
    return results


def _evidence(registration) -> dict:
    return {key: getattr(registration.report, key) for key in EVIDENCE}


def summarise(results: list[CheckResult]) -> dict:
    same = [result for result in results if result.same_eye]
    wrong = [result for result in results if not result.same_eye]
    return {"same_eye_pairs": len(same),
            "consistent": sum(result.forward_backward_px <= CONSISTENCY_TARGET_PX for result in same),
            "median_forward_backward_px": float(np.median([r.forward_backward_px for r in same])) if same else None,
            "same_eye_confident": sum(all(result.confident) for result in same),
            "wrong_eye_pairs": len(wrong), "wrong_eye_confident": sum(any(result.confident) for result in wrong)}
