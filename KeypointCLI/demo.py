"""`slicer-keypoints demo`: every module's demo on bundled sample data, into one Slicer scene with previews."""

from __future__ import annotations

from pathlib import Path

from KeypointCLI import exits
from KeypointCLI.plugins import contributions


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "demo", help="run every module on bundled sample data; write a Slicer scene folder and PNG previews",
        description="Run each module's demo on sample data made at run time from real images shipped with the "
                    "packages (KeypointAlign: scikit-image's colour fundus photograph under a known camera motion "
                    "and an exposure change; SP3DDetect: nilearn's MNI152 T1 template under a known rigid motion) "
                    "and save everything as one Slicer scene (open OUTPUT/demo.mrml in Slicer) with PNG previews and "
                    "reports beside it.")
    parser.add_argument("-o", "--output", type=Path, default=Path("demo-output"), help="folder to write (created)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample data's known motions")
    return parser


def run(args) -> int:
    from KeypointMRMLLib.scene import make_scene
    from KeypointMRMLLib.storage import save_scene

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    scene, status = make_scene(), exits.DONE
    for module in contributions("DEMOS"):
        status = max(status, module.run_demo(scene, output, args.seed))
    mrml = save_scene(scene, output, "demo")
    print(f"Scene: {mrml} (open it in Slicer)")
    return status
