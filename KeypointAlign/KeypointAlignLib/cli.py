"""`slicer-keypoints align`: register two retinal images from files; outputs are files Slicer opens."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from KeypointEngineLib.device import DEVICE_CHOICES
from KeypointEngineLib.errors import InputError
from KeypointEngineLib.retina.parameters import (
    FEATURE_BACKENDS,
    FIELD_OF_VIEW,
    RATIO_TEST,
    TRANSFORM_MODELS,
    WORKING_SIZE,
    check_options,
)

TRANSFORM_SUFFIXES = (".h5", ".txt", ".tfm")


def add_parser(subparsers):
    from KeypointCLI.exits import add_confidence_option

    parser = subparsers.add_parser(
        "align", help="register a moving retinal image onto a fixed one",
        description="Register MOVING onto FIXED (JPEG, PNG or TIFF as fundus cameras write them, or single-slice "
                    "NRRD/NIfTI volumes) and write the transform as Slicer writes it (ITK convention, LPS): loaded "
                    "into Slicer and applied to the moving image, it aligns it with the fixed one. A failed "
                    "registration exits with status 1 and writes no transform and no mapped points; every output "
                    "path is checked before the work and written whole or not at all.")
    parser.add_argument("fixed", type=Path, help="fixed (reference) image")
    parser.add_argument("moving", type=Path, help="moving image, aligned onto the fixed one")
    parser.add_argument("-o", "--output", type=Path, required=True, help="transform file to write (.h5 or .txt)")
    parser.add_argument("--model", choices=TRANSFORM_MODELS, default=TRANSFORM_MODELS[0],
                        help=f"transform model (default: {TRANSFORM_MODELS[0]})")
    parser.add_argument("--features", choices=FEATURE_BACKENDS, default=FEATURE_BACKENDS[0],
                        help=f"keypoint backend (default: {FEATURE_BACKENDS[0]}: SIFT, then the learned model where "
                             "SIFT's result is not confident, as across modalities)")
    fields = f"{FIELD_OF_VIEW.minimum:g}-{FIELD_OF_VIEW.maximum:g} degrees"
    parser.add_argument("--fov", type=float, metavar="DEGREES",
                        help=f"both images' field of view, {fields} (45 for most fundus cameras, as FIRE and DRIVE; "
                             "CHASE_DB1 30; infrared / OCT en-face 20-30). Default: unknown, taken as 45 and the "
                             "moving image's scale searched over 0.42-2.4x (20 against 45 degrees and back) until "
                             "the result is confident")
    parser.add_argument("--fixed-fov", type=float, metavar="DEGREES", help=f"the fixed image's, {fields} (over --fov)")
    parser.add_argument("--moving-fov", type=float, metavar="DEGREES",
                        help=f"the moving image's, {fields} (over --fov)")
    parser.add_argument("--working-size", type=int, default=WORKING_SIZE.default, metavar="PX",
                        help=f"pixels spanned by a 45° field of view while detecting keypoints, "
                             f"{WORKING_SIZE.minimum:g}-{WORKING_SIZE.maximum:g} (default {WORKING_SIZE.default:g})")
    parser.add_argument("--ratio", type=float, default=RATIO_TEST.default,
                        help=f"descriptor ratio test, {RATIO_TEST.minimum:g}-{RATIO_TEST.maximum:g}; 1 disables it "
                             f"(default {RATIO_TEST.default:g})")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                        help="where the learned model runs (default: $KEYPOINT_DEVICE, else auto: a GPU if any)")
    parser.add_argument("--warped", type=Path, help="also write the moving image resampled onto the fixed one (PNG)")
    parser.add_argument("--checkerboard", type=Path, help="also write a fixed/warped-moving checkerboard (PNG)")
    parser.add_argument("--map-points", type=Path, metavar="MOVING_PTS",
                        help="text file of moving-image points, one 'x y' per line (pixels, 0-based)")
    parser.add_argument("--mapped-points", type=Path, metavar="OUT",
                        help="where to write --map-points mapped onto the fixed image, same format")
    parser.add_argument("--report", type=Path, help="write the quality report as JSON")
    add_confidence_option(parser)
    return parser


def run(args) -> int:
    from KeypointCLI.exits import result_exit_code

    _check_arguments(args)
    moving_points = read_points(args.map_points) if args.map_points else None

    from KeypointAlignLib.logic import KeypointAlignLogic, retinalPixels
    from KeypointCLI.outputs import atomic_output, write_json
    from KeypointCLI.previews import write_image
    from KeypointEngineLib.retina.resampling import checkerboard, warp_moving_to_fixed
    from KeypointMRMLLib.scene import make_scene
    from KeypointMRMLLib.storage import load_volume, save_node

    scene = make_scene()
    fixed, moving = load_volume(scene, args.fixed), load_volume(scene, args.moving)
    if moving_points is not None:
        check_points_inside(moving_points, retinalPixels(moving, "moving")[0].shape, args.map_points)
    result = KeypointAlignLogic().register(fixed, moving, model=args.model, features=args.features,
                                           fieldOfViewDegrees=args.fov, fixedFieldOfViewDegrees=args.fixed_fov,
                                           movingFieldOfViewDegrees=args.moving_fov, workingSize=args.working_size,
                                           ratioTest=args.ratio, device=args.device, createInlierFiducials=False)
    print(result.report.summary(), file=sys.stdout if result.report.success else sys.stderr)
    if result.report.success:
        model = result.registration.model
        with atomic_output(args.output) as temporary:
            save_node(result.transformNode, temporary)
        if moving_points is not None:
            write_points(args.mapped_points, model.moving_to_fixed(moving_points))
        if args.warped or args.checkerboard:
            fixed_pixels, moving_pixels = retinalPixels(fixed, "fixed")[0], retinalPixels(moving, "moving")[0]
            warped = warp_moving_to_fixed(moving_pixels, model, fixed_pixels.shape)
            if args.warped:
                write_image(args.warped, warped)
            if args.checkerboard:
                write_image(args.checkerboard, checkerboard(fixed_pixels, warped))
    if args.report:
        write_json(args.report, result.report.to_dict())
    return result_exit_code(result.report.success, result.report.confident, args.require_confident, "align")


def _check_arguments(args) -> None:
    """Every option and output path, before any work (a ValueError says what to do)."""
    from KeypointCLI.outputs import check_output

    if (args.map_points is None) != (args.mapped_points is None):
        raise InputError("--map-points and --mapped-points go together.")
    check_options(args.model, args.features, args.working_size, args.fov, args.ratio, args.fixed_fov, args.moving_fov)
    check_output(args.output, TRANSFORM_SUFFIXES, "transform")
    check_output(args.mapped_points, None, "mapped points")
    check_output(args.warped, (".png",), "warped image")
    check_output(args.checkerboard, (".png",), "checkerboard")
    check_output(args.report, (".json",), "report")
    if args.device not in (None, "auto"):
        from KeypointEngineLib.device import choose_device

        choose_device(args.device)  # an absent GPU is an error before the images are read


def read_points(path: Path) -> np.ndarray:
    """Points file (DESIGN: one 'x y' per line, original-image pixels, 0-based); blank lines and # comments skipped."""
    try:
        points = np.loadtxt(path, ndmin=2, comments="#")
    except (OSError, ValueError) as error:
        raise InputError(f"Cannot read points from {path}: {error}. Write one 'x y' pair per line.") from None
    if points.size == 0:
        return np.zeros((0, 2))
    if points.shape[1] != 2:
        raise InputError(f"{path} has {points.shape[1]} columns; write one 'x y' pair per line.")
    if not np.isfinite(points).all():
        line = int(np.flatnonzero(~np.isfinite(points).all(axis=1))[0]) + 1
        raise InputError(f"{path}: point {line} is not a number (NaN or infinite); give pixel coordinates.")
    return points


def check_points_inside(points: np.ndarray, shape: tuple[int, ...], path: Path) -> None:
    """Points must lie on the image they belong to (pixel centres 0..size-1, plus half a pixel at the edges)."""
    rows, cols = shape[:2]
    outside = (points[:, 0] < -0.5) | (points[:, 0] > cols - 0.5) | (points[:, 1] < -0.5) | (points[:, 1] > rows - 0.5)
    if outside.any():
        x, y = points[np.flatnonzero(outside)[0]]
        raise InputError(f"{path}: {int(outside.sum())} points lie outside the moving image ({cols} x {rows} px), "
                         f"e.g. ({x:g}, {y:g}); points are 'x y' in its pixels, 0-based.")


def write_points(path: Path, points: np.ndarray) -> None:
    from KeypointCLI.outputs import write_text

    write_text(path, "".join(f"{x:.3f} {y:.3f}\n" for x, y in np.asarray(points).reshape(-1, 2)))
