"""`slicer-keypoints`: the command line of SlicerKeypoints without the Slicer application.

The core (this package) owns the parser, the exit codes and safe output writing; each module contributes its
subcommands, benchmarks and demo through its plugin (`<Module>Lib/plugin.py`, named by an entry point of the group
`slicer_keypoints.modules` in pyproject.toml), so adding a module edits nothing here. `train` appears only where the
training backend (Testing/Training, not part of the wheel) is importable.
"""
