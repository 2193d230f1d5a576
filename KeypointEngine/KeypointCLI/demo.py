"""`slicer-keypoints demo`: run SlicerKeypoints on bundled sample data and write a Slicer scene plus PNG previews."""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "demo", help="run on bundled sample data; write a Slicer scene folder and PNG previews",
        description="Make a retinal pair from the bundled real colour fundus photograph (scikit-image's retina: a "
                    "known camera motion and an exposure change), register it with KeypointAlign and save "
                    "everything as a Slicer scene (open OUTPUT/demo.mrml in Slicer) with PNG previews and the "
                    "quality report beside it.")
    parser.add_argument("-o", "--output", type=Path, default=Path("demo-output"), help="folder to write (created)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample pair's warp")
    return parser


def run(args) -> int:
    from KeypointAlignLib.logic import KeypointAlignLogic
    from KeypointAlignLib.samples import add_sample_pair
    from KeypointCLI.previews import write_png
    from KeypointEngineLib.retina.resampling import checkerboard, warp_moving_to_fixed
    from KeypointMRMLLib.scene import make_scene
    from KeypointMRMLLib.storage import save_scene

    output = Path(args.output)
    scene = make_scene()
    fixed, moving, pair = add_sample_pair(scene, args.seed)
    result = KeypointAlignLogic().register(fixed, moving, model="auto")
    print(f"KeypointAlign: {result.report.summary()}")
    if not result.report.success:
        return 1
    moving.SetAndObserveTransformNodeID(result.transformNode.GetID())  # as the GUI shows it: moving aligned
    error = pair.mean_error_px(result.registration.model)
    print(f"Mean error against the known warp: {error:.2f} px")

    previews = output / "previews"
    warped = warp_moving_to_fixed(pair.moving, result.registration.model, pair.fixed.shape)
    write_png(previews / "checkerboard_before.png", checkerboard(pair.fixed, pair.moving))
    write_png(previews / "checkerboard_after.png", checkerboard(pair.fixed, warped))
    (output / "report.json").write_text(json.dumps({**result.report.to_dict(), "mean_error_px": error}, indent=2))
    mrml = save_scene(scene, output, "demo")
    print(f"Scene: {mrml} (open it in Slicer)")
    print(f"Previews: {previews}/checkerboard_before.png, checkerboard_after.png")
    return 0
