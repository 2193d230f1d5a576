"""The real fluorescein angiograms of the data folder (`fundus-modalities/fa`, 160 frames of many eyes), split once:
the frames the real checks use (real_checks.py) serve them only; of the others, every fourth by name is held out for
the benchmark's `real_fa` category and the rest may train. No training run sees a held-out frame."""

from __future__ import annotations

from pathlib import Path

from KeypointEvaluationLib.retina.real_checks import OTHER_EYES, SAME_EYE

FOLDER = Path("fundus-modalities") / "fa"
HELD_OUT_EVERY = 4
CHECKED = {Path(path).name for _, *paths in SAME_EYE + OTHER_EYES for path in paths}  # the real checks' frames


def _usable(data: Path) -> list[Path]:
    return [path for path in sorted((data / FOLDER).glob("*.jpg")) if path.name not in CHECKED]


def benchmark_angiograms(data: Path) -> list[Path]:
    return _usable(data)[::HELD_OUT_EVERY]


def training_angiograms(data: Path) -> list[Path]:
    held_out = set(benchmark_angiograms(data))
    return [path for path in _usable(data) if path not in held_out]
