"""What SP3DDetect contributes outside Slicer's GUI: its CLI subcommands (detect, match) and the folders of its
models. Found through the `slicer_keypoints.modules` entry point in pyproject.toml; imports nothing heavy."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent

MODEL_FOLDERS = (_HERE.parent / "Resources" / "Models", _HERE / "Models")  # source checkout or Slicer; wheel
COMMANDS = ("SP3DDetectLib.cli:DetectCommand", "SP3DDetectLib.cli:MatchCommand")  # slicer-keypoints detect, match
BENCHMARKS = ("SP3DDetectLib.bench", "SP3DDetectLib.bench_speed")  # bench detect, bench detect-speed
DEMOS = ("SP3DDetectLib.demo",)  # part of slicer-keypoints demo
