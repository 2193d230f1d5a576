"""What KeypointAlign contributes outside Slicer's GUI: its CLI subcommand, benchmark and demo (module paths, imported
when the CLI builds its parser), and the folders of its models. Found through the `slicer_keypoints.modules` entry
point in pyproject.toml; imports nothing heavy."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent

# KeypointAlign/Resources/Models in a source checkout and in Slicer (which installs every module's Resources/
# beside the packages); KeypointAlignLib/Models in a wheel (package data)
MODEL_FOLDERS = (_HERE.parent / "Resources" / "Models", _HERE / "Models")
COMMANDS = ("KeypointAlignLib.cli",)  # slicer-keypoints align
BENCHMARKS = ("KeypointAlignLib.bench", "KeypointAlignLib.bench_cancel",
              "KeypointAlignLib.bench_speed")  # bench align, align-cancel, align-speed
DEMOS = ("KeypointAlignLib.demo",)  # part of slicer-keypoints demo
