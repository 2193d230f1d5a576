"""`slicer-keypoints segment`: short-axis cine MRI frames segmented into segmentation files Slicer opens (.seg.nrrd),
with a JSON report of volumes, ventricular function and the quality flag; outputs written whole or not at all."""

from __future__ import annotations

import sys
from pathlib import Path

from KeypointEngineLib.cardiac.parameters import BATCH_SLICES, MODELS
from KeypointEngineLib.device import DEVICE_CHOICES

SEGMENTATIONS = (".seg.nrrd",)
MARKUPS = (".mrk.json",)


class SegmentCommand:
    """`segment ED -o ED.seg.nrrd [--es ES --es-output ES.seg.nrrd] [--report R.json]`; or a 4D cine as IN."""

    @staticmethod
    def add_parser(subparsers):
        from KeypointCLI.exits import add_confidence_option

        parser = subparsers.add_parser(
            "segment", help="segment short-axis cardiac MRI (RV cavity, LV myocardium, LV cavity)",
            description="Segment the short-axis cine MRI frame IN (NIfTI, NRRD, MHA...) with KAF-UNet into a "
                        "segmentation file: 'Right ventricle cavity', 'Left ventricle myocardium', 'Left ventricle "
                        "cavity', on IN's own geometry. With --es (the end-systolic frame of the same cine; IN is "
                        "then end-diastole) the report also gives ejection fractions and myocardial mass; so does a "
                        "4D cine as IN (its frames --ed-frame and --es-frame; by default those of largest and smallest "
                        "left ventricle cavity, found by segmenting every frame). A result "
                        "the quality flag doubts is written with a warning (exit 1 with --require-confident).")
        parser.add_argument("volume", type=Path,
                            help="short-axis frame (end-diastole when --es is given), or a 4D cine (4D NIfTI)")
        parser.add_argument("-o", "--output", type=Path, required=True, help="segmentation to write (.seg.nrrd)")
        parser.add_argument("--es", type=Path, help="the end-systolic frame of the same cine")
        parser.add_argument("--es-output", type=Path, help="the end-systolic segmentation (.seg.nrrd)")
        parser.add_argument("--ed-frame", type=int, help="of a 4D cine: the end-diastolic frame, 0-based (default: "
                                                         "the frame of largest LV cavity)")
        parser.add_argument("--es-frame", type=int, help="of a 4D cine: the end-systolic frame (default: the frame "
                                                         "of smallest LV cavity)")
        parser.add_argument("--keypoints", type=Path, help="write the KAF keypoints of IN (.mrk.json)")
        parser.add_argument("--report", type=Path, help="write volumes, function and quality as JSON")
        parser.add_argument("--model", choices=MODELS, default=MODELS[0], help=f"default {MODELS[0]}")
        parser.add_argument("--batch-slices", type=int, default=int(BATCH_SLICES.default),
                            help=f"slices per network batch (default {BATCH_SLICES.default:g})")
        parser.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                            help="where the network runs (default: $KEYPOINT_DEVICE, else auto: a GPU if any)")
        add_confidence_option(parser)
        return parser

    @staticmethod
    def run(args) -> int:
        from KeypointCLI.exits import result_exit_code
        from KeypointCLI.outputs import atomic_output, check_output, write_json
        from KeypointEngineLib.errors import InputError

        BATCH_SLICES.check(args.batch_slices)
        check_output(args.output, SEGMENTATIONS, "segmentation")
        check_output(args.es_output, SEGMENTATIONS, "end-systolic segmentation")
        check_output(args.keypoints, MARKUPS, "keypoints")
        check_output(args.report, (".json",), "report")
        from KeypointMRMLLib.images2d import check_input_file
        from KeypointSegLib.cine import is_cine_file

        check_input_file(args.volume)
        cine = is_cine_file(args.volume)
        if args.es_output is not None and args.es is None and not cine:
            raise InputError("--es-output needs --es, the end-systolic frame to segment (or a 4D cine as input).")
        if cine and args.es is not None:
            raise InputError(f"{args.volume} is a 4D cine: choose its frames with --ed-frame/--es-frame, not --es.")
        from KeypointMRMLLib.scene import make_scene
        from KeypointMRMLLib.storage import load_volume, save_node
        from KeypointSegLib.logic import KeypointSegLogic

        scene = make_scene()
        logic, options = KeypointSegLogic(), dict(batchSlices=args.batch_slices, createKeypoints=bool(args.keypoints))
        if cine:
            from KeypointSegLib.cine import load_cine

            cycle = logic.segmentCine(load_cine(scene, args.volume), args.ed_frame, args.es_frame, args.model,
                                      device=args.device, **options)
            results, function = [cycle.endDiastole, cycle.endSystole], cycle.function
            print(f"Cine frames: end-diastole {cycle.frames[0]}, end-systole {cycle.frames[1]}")
        elif args.es is not None:
            first = load_volume(scene, args.volume)
            cycle = logic.segmentCycle(first, load_volume(scene, args.es), args.model, device=args.device, **options)
            results, function = [cycle.endDiastole, cycle.endSystole], cycle.function
        else:
            results = [logic.segment(load_volume(scene, args.volume), args.model, device=args.device, **options)]
            function = None
        outputs = [(args.output, results[0].segmentationNode), (args.keypoints, results[0].keypointsNode)]
        if len(results) > 1:
            outputs.append((args.es_output, results[1].segmentationNode))
        for path, node in outputs:
            if path is not None:
                with atomic_output(path) as temporary:
                    save_node(node, temporary)
        for result in results:
            for text in result.warnings + result.quality.reasons:
                print(f"Warning: {result.segmentationNode.GetName()}: {text}", file=sys.stderr)
            print(f"{result.segmentationNode.GetName()}: " + ", ".join(
                f"{name} {value:.1f} mL" for name, value in result.volumesMl.items()))
        if function:
            print(", ".join(f"{name} {value:.1f}" for name, value in function.items()))
        ok = all(result.quality.ok for result in results)
        if args.report:
            write_json(args.report, {
                "frames": [{"segmentation": result.segmentationNode.GetName(), "volumes_ml": result.volumesMl,
                            "quality_ok": result.quality.ok, "quality_reasons": result.quality.reasons,
                            "warnings": result.warnings} for result in results],
                "function": function, "confident": ok, "model": args.model})
        return result_exit_code(True, ok, args.require_confident, "segment")
