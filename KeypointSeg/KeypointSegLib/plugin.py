"""What KeypointSeg contributes outside Slicer's GUI: its CLI subcommand (segment), benchmark, demo and the folders of
its models. Found through the `slicer_keypoints.modules` entry point in pyproject.toml; imports nothing heavy."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent

MODEL_FOLDERS = (_HERE.parent / "Resources" / "Models", _HERE / "Models")  # source checkout or Slicer; wheel
COMMANDS = ("KeypointSegLib.cli:SegmentCommand",)  # slicer-keypoints segment
BENCHMARKS = ("KeypointSegLib.bench", "KeypointSegLib.bench_speed")  # bench segment, segment-speed
DEMOS = ("KeypointSegLib.demo",)  # part of slicer-keypoints demo
