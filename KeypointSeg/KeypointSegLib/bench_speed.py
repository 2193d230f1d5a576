"""`slicer-keypoints bench segment-speed`: seconds to segment a 10×256×256 short-axis stack (1.5625 mm pixels, 10 mm
slices: ACDC's typical geometry) with KAF-UNet and with the plain UNet in one warm process, and their ratio. The
volume is the run-time phantom (only its size and geometry matter for speed)."""

from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "segment-speed", help="time KAF-UNet and the plain UNet on a 10x256x256 short-axis stack",
        description="Segment a 10x256x256 stack at 1.5625 x 1.5625 x 10 mm (the phantom; speed depends on size only) "
                    "with each installed model in one warm process; print the median seconds per volume, the "
                    "share spent on SIFT keypoints, and KAF-UNet's time as a multiple of the plain UNet's.")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per model after one warm-up (default 3)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: auto)")
    return parser


def run(args) -> int:
    import time

    import numpy as np

    from KeypointEngineLib.cardiac.inference import CardiacSegmenter
    from KeypointEngineLib.errors import InputError
    from KeypointEngineLib.registry import default_registry
    from KeypointEvaluationLib.cardiac.phantom import short_axis_phantom

    if args.runs < 1:
        raise InputError(f"--runs must be 1 or more, not {args.runs}.")
    installed = [name for name in ("kaf-unet", "unet") if name in {c.name for c in default_registry().cards()}]
    if not installed:
        raise InputError("Neither kaf-unet nor unet is installed: train and export one first (README).")
    phantom = short_axis_phantom(slices=10, size=256, pixel_mm=1.5625, slice_mm=10.0)
    seconds = {}
    for name in installed:
        segmenter = CardiacSegmenter(name, args.device)
        segmenter.segment(phantom.image, phantom.ijk_to_ras)  # warm-up: weights, threads, allocator
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            segmenter.segment(phantom.image, phantom.ijk_to_ras)
            times.append(time.perf_counter() - start)
        seconds[name] = float(np.median(times))
        print(f"{name}: {seconds[name]:.2f} s per 10x256x256 volume (median of {args.runs}, "
              f"{min(times):.2f}-{max(times):.2f}) on {segmenter.device}")
    if len(seconds) == 2:
        ratio = seconds["kaf-unet"] / seconds["unet"]
        print(f"KAF-UNet / plain UNet: {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'}); "
              f"target <= 3 s per volume: {'met' if seconds['kaf-unet'] <= 3.0 else 'NOT met'}")
    return 0
