"""`slicer-keypoints align`: register two retinal images from files; outputs are files Slicer opens."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from KeypointAlignLib.logic import DEFAULT_FEATURES, FEATURE_BACKENDS, TRANSFORM_MODELS


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "align", help="register a moving retinal image onto a fixed one",
        description="Register MOVING onto FIXED (JPEG, PNG or TIFF as fundus cameras write them, or single-slice "
                    "NRRD/NIfTI volumes) and write the transform as Slicer writes it (ITK convention, LPS): loaded "
                    "into Slicer and applied to the moving image, it aligns it with the fixed one. A failed "
                    "registration exits with status 1 and writes no transform and no mapped points.")
    parser.add_argument("fixed", type=Path, help="fixed (reference) image")
    parser.add_argument("moving", type=Path, help="moving image, aligned onto the fixed one")
    parser.add_argument("-o", "--output", type=Path, required=True, help="transform file to write (.h5 or .txt)")
    parser.add_argument("--model", choices=TRANSFORM_MODELS, default="auto", help="transform model (default: auto)")
    parser.add_argument("--features", choices=FEATURE_BACKENDS, default=DEFAULT_FEATURES,
                        help=f"keypoint backend (default: {DEFAULT_FEATURES}: SIFT, then the learned model where "
                             "SIFT's result is not confident, as across modalities)")
    parser.add_argument("--fov", type=float, default=45.0, metavar="DEGREES",
                        help="camera field of view in degrees (default 45, as FIRE and DRIVE; CHASE_DB1 is 30)")
    parser.add_argument("--working-size", type=int, default=768, metavar="PX",
                        help="pixels spanned by a 45° field of view while detecting keypoints (default 768)")
    parser.add_argument("--ratio", type=float, default=0.9, help="descriptor ratio test, 1 disables (default 0.9)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or mps (learned backends)")
    parser.add_argument("--warped", type=Path, help="also write the moving image resampled onto the fixed one (PNG)")
    parser.add_argument("--checkerboard", type=Path, help="also write a fixed/warped-moving checkerboard (PNG)")
    parser.add_argument("--map-points", type=Path, metavar="MOVING_PTS",
                        help="text file of moving-image points, one 'x y' per line (pixels, 0-based)")
    parser.add_argument("--mapped-points", type=Path, metavar="OUT",
                        help="where to write --map-points mapped onto the fixed image, same format")
    parser.add_argument("--report", type=Path, help="write the quality report as JSON")
    return parser


def run(args) -> int:
    from KeypointAlignLib.logic import KeypointAlignLogic, retinalPixels
    from KeypointCLI.previews import write_png
    from KeypointEngineLib.retina.resampling import checkerboard, warp_moving_to_fixed
    from KeypointMRMLLib.scene import make_scene
    from KeypointMRMLLib.storage import load_volume, save_node

    if (args.map_points is None) != (args.mapped_points is None):
        raise ValueError("--map-points and --mapped-points go together.")
    if args.output.suffix.lower() not in (".h5", ".txt", ".tfm"):
        raise ValueError(f"Write the transform as .h5 or .txt (ITK formats Slicer reads), not {args.output.name}.")
    moving_points = read_points(args.map_points) if args.map_points else None

    scene = make_scene()
    fixed, moving = load_volume(scene, args.fixed), load_volume(scene, args.moving)
    result = KeypointAlignLogic().register(fixed, moving, model=args.model, features=args.features,
                                           fieldOfViewDegrees=args.fov, workingSize=args.working_size,
                                           ratioTest=args.ratio, device=args.device, createInlierFiducials=False)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(result.report.to_dict(), indent=2) + "\n")
    print(result.report.summary(), file=sys.stdout if result.report.success else sys.stderr)
    if not result.report.success:
        return 1

    save_node(result.transformNode, args.output)
    model = result.registration.model
    if moving_points is not None:
        write_points(args.mapped_points, model.moving_to_fixed(moving_points))
    if args.warped or args.checkerboard:
        fixed_pixels, moving_pixels = retinalPixels(fixed, "fixed")[0], retinalPixels(moving, "moving")[0]
        warped = warp_moving_to_fixed(moving_pixels, model, fixed_pixels.shape)
        if args.warped:
            write_png(args.warped, warped)
        if args.checkerboard:
            write_png(args.checkerboard, checkerboard(fixed_pixels, warped))
    return 0


def read_points(path: Path) -> np.ndarray:
    """Points file (DESIGN: one 'x y' per line, original-image pixels, 0-based); blank lines and # comments skipped."""
    try:
        points = np.loadtxt(path, ndmin=2, comments="#")
    except (OSError, ValueError) as error:
        raise ValueError(f"Cannot read points from {path}: {error}. Write one 'x y' pair per line.") from None
    if points.size == 0:
        return np.zeros((0, 2))
    if points.shape[1] != 2:
        raise ValueError(f"{path} has {points.shape[1]} columns; write one 'x y' pair per line.")
    return points


def write_points(path: Path, points: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.asarray(points).reshape(-1, 2), fmt="%.3f")
