"""`slicer-keypoints detect` and `slicer-keypoints match`: SP3D keypoints of CT/MRI volume files, and two volumes
matched into a transform file; outputs are files Slicer opens (.mrk.json, .h5), written whole or not at all."""

from __future__ import annotations

import sys
from pathlib import Path

from KeypointEngineLib.device import DEVICE_CHOICES
from KeypointEngineLib.volume.parameters import (
    FEATURE_BACKENDS,
    INLIER_MM,
    MATCH_MODELS,
    MAX_KEYPOINTS,
    NMS_MM,
    RATIO,
    SPACING_MM,
    THRESHOLD,
)

MARKUPS = (".mrk.json",)
TRANSFORMS = (".h5", ".txt", ".tfm")


def _shared_options(parser) -> None:
    parser.add_argument("--max-keypoints", type=int, default=int(MAX_KEYPOINTS.default),
                        help=f"most keypoints per volume (default {MAX_KEYPOINTS.default:g})")
    parser.add_argument("--threshold", type=float, default=THRESHOLD.default,
                        help=f"heatmap probability a keypoint must exceed (default {THRESHOLD.default:g})")
    parser.add_argument("--spacing", type=float, default=SPACING_MM.default, metavar="MM",
                        help=f"working voxel size, {SPACING_MM.minimum:g}-{SPACING_MM.maximum:g} mm "
                             f"(default {SPACING_MM.default:g})")
    parser.add_argument("--features", choices=FEATURE_BACKENDS, default=FEATURE_BACKENDS[0],
                        help=f"keypoint backend: hessian (classical) or sp3d (learned); default {FEATURE_BACKENDS[0]}")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                        help="where the network runs (default: $KEYPOINT_DEVICE, else auto: a GPU if any)")


class DetectCommand:
    """`detect IN -o OUT.mrk.json`."""

    @staticmethod
    def add_parser(subparsers):
        parser = subparsers.add_parser(
            "detect", help="3D keypoints of a CT or MRI volume as a markups file",
            description="Detect SP3D keypoints in IN (NIfTI, NRRD, MHA...) and write them as a markups fiducial file "
                        "(.mrk.json, LPS as Slicer writes it): labels K0001... strongest first, the score in each "
                        "point's description.")
        parser.add_argument("volume", type=Path, help="CT or MRI volume")
        parser.add_argument("-o", "--output", type=Path, required=True, help="markups file to write (.mrk.json)")
        parser.add_argument("--mask", type=Path, help="label map (any geometry): keypoints only where it is non-zero")
        parser.add_argument("--nms", type=float, default=NMS_MM.default, metavar="MM",
                            help=f"no two keypoints closer than this (default {NMS_MM.default:g} mm)")
        _shared_options(parser)
        return parser

    @staticmethod
    def run(args) -> int:
        from KeypointCLI.outputs import atomic_output, check_output
        from KeypointEngineLib.volume.parameters import DetectionOptions

        DetectionOptions(args.max_keypoints, args.threshold, args.nms, args.spacing).check()
        check_output(args.output, MARKUPS, "markups file")
        from KeypointMRMLLib.scene import make_scene
        from KeypointMRMLLib.storage import load_volume, save_node
        from SP3DDetectLib.logic import SP3DDetectLogic

        scene = make_scene()
        volume = load_volume(scene, args.volume)
        mask = None
        if args.mask is not None:
            mask = load_volume(scene, args.mask, labelmap=True)
        result = SP3DDetectLogic().detect(volume, args.max_keypoints, args.threshold, args.nms, args.spacing,
                                          maskNode=mask, device=args.device, features=args.features)
        with atomic_output(args.output) as temporary:
            save_node(result.keypointsNode, temporary)
        for warning in result.warnings:
            print(f"Warning: {warning}", file=sys.stderr)
        print(f"{len(result.features)} keypoints of {args.volume.name} in {args.output}")
        return 0


class MatchCommand:
    """`match FIXED MOVING -o T.h5`."""

    @staticmethod
    def add_parser(subparsers):
        from KeypointCLI.exits import add_confidence_option

        parser = subparsers.add_parser(
            "match", help="match two CT/MRI volumes by their keypoints into a transform file",
            description="Match MOVING to FIXED by their SP3D keypoints and write the transform as Slicer writes it "
                        "(ITK convention, LPS: fixed points to moving points; loaded into Slicer and applied to the "
                        "moving volume, it aligns it with the fixed one). A failed match exits with status 1 and "
                        "writes no transform.")
        parser.add_argument("fixed", type=Path, help="fixed (reference) volume")
        parser.add_argument("moving", type=Path, help="moving volume")
        parser.add_argument("-o", "--output", type=Path, required=True, help="transform file to write (.h5, .txt)")
        parser.add_argument("--model", choices=MATCH_MODELS, default=MATCH_MODELS[0],
                            help=f"transform model (default {MATCH_MODELS[0]})")
        parser.add_argument("--inlier-distance", type=float, default=INLIER_MM.default, metavar="MM",
                            help=f"matches that agree within this distance are inliers (default {INLIER_MM.default:g})")
        parser.add_argument("--ratio", type=float, default=RATIO.default,
                            help=f"descriptor ratio test; 1 disables it (default {RATIO.default:g})")
        parser.add_argument("--fixed-inliers", type=Path, help="write the fixed volume's matched keypoints (.mrk.json)")
        parser.add_argument("--moving-inliers", type=Path, help="write the moving volume's matched keypoints")
        parser.add_argument("--report", type=Path, help="write the quality report as JSON")
        _shared_options(parser)
        add_confidence_option(parser)
        return parser

    @staticmethod
    def run(args) -> int:
        from KeypointCLI.exits import result_exit_code
        from KeypointCLI.outputs import atomic_output, check_output, write_json
        from KeypointEngineLib.volume.parameters import DetectionOptions

        DetectionOptions(args.max_keypoints, args.threshold, spacing_mm=args.spacing).check()
        INLIER_MM.check(args.inlier_distance)
        RATIO.check(args.ratio)
        check_output(args.output, TRANSFORMS, "transform")
        check_output(args.fixed_inliers, MARKUPS, "fixed inliers")
        check_output(args.moving_inliers, MARKUPS, "moving inliers")
        check_output(args.report, (".json",), "report")
        from KeypointMRMLLib.scene import make_scene
        from KeypointMRMLLib.storage import load_volume, save_node
        from SP3DDetectLib.logic import SP3DDetectLogic

        scene = make_scene()
        fixed, moving = load_volume(scene, args.fixed), load_volume(scene, args.moving)
        result = SP3DDetectLogic().match(fixed, moving, args.model, args.max_keypoints, args.inlier_distance,
                                         args.ratio, args.spacing, args.threshold, device=args.device,
                                         createInlierFiducials=bool(args.fixed_inliers or args.moving_inliers),
                                         features=args.features)
        for warning in result.warnings:
            print(f"Warning: {warning}", file=sys.stderr)
        print(result.report.summary(), file=sys.stdout if result.report.success else sys.stderr)
        if result.report.success:
            outputs = [(args.output, result.transformNode)]
            if result.fiducialNodes:
                outputs += list(zip((args.fixed_inliers, args.moving_inliers), result.fiducialNodes, strict=True))
            for path, node in outputs:
                if path is not None:
                    with atomic_output(path) as temporary:
                        save_node(node, temporary)
        if args.report:
            write_json(args.report, result.report.to_dict())
        return result_exit_code(result.report.success, result.report.confident, args.require_confident, "match")

