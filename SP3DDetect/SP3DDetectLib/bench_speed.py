"""`slicer-keypoints bench detect-speed`: seconds to detect SP3D keypoints in 1 mm head MRI crops of three sizes up to
256³ (working spacing 2 mm), against a classical detector (DoG-3D with its descriptor) on the same volumes in the same
run; cost per million voxels shows whether it is linear. Peak memory: run `slicer-keypoints detect` under farm-bench
(README)."""

from __future__ import annotations

import time
from pathlib import Path

from KeypointCLI.benchmarks import DATA_HELP, data_folder

VOLUME = "mr_head_t1_mne_sample.nii.gz"  # 256³ at 1 mm, held out from training
SIZES = (128, 192, 256)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "detect-speed", help="time SP3D detection on 128³, 192³ and 256³ volumes at 1 mm against a classical detector",
        description="Detect keypoints (500, 4 mm NMS, working spacing 2 mm) in centred crops of a held-out 256³ "
                    "1 mm head MRI, in one warm process, and print seconds per volume, per million voxels, and the "
                    "ratio to DoG-3D (a classical detector with its descriptor) on the same volume.")
    parser.add_argument("--data", type=Path, help=f"data folder with volumes-more/ {DATA_HELP}")
    parser.add_argument("--runs", type=int, default=3, help="runs per size; the median is printed (default 3)")
    parser.add_argument("--models", type=Path, metavar="FOLDER", help="take the 'sp3d' weights from FOLDER")
    return parser


def run(args) -> int:
    import numpy as np

    from KeypointEngineLib.errors import InputError
    from KeypointEngineLib.registry import ModelRegistry
    from KeypointEngineLib.volume.classical import ClassicalExtractor
    from KeypointEngineLib.volume.extract import SP3DExtractor
    from KeypointEvaluationLib.volume.benchmark import BUDGET
    from KeypointEvaluationLib.volume.cases import find_volume, read_volume

    if args.runs < 1:
        raise InputError(f"--runs must be 1 or more, not {args.runs}.")
    try:
        volume = read_volume(find_volume(data_folder(args.data), VOLUME))
    except FileNotFoundError as error:
        raise InputError(f"{error} Give --data.") from error
    methods = {"SP3D": SP3DExtractor(registry=ModelRegistry(args.models) if args.models else None),
               "DoG-3D": ClassicalExtractor("DoG-3D")}
    print(f"{'size':>6} {'Mvoxels':>8} " + " ".join(f"{name + ' s':>9} {'s/Mvox':>7}" for name in methods)
          + f" {'SP3D/DoG':>9}")
    for size in SIZES:
        start = [(n - size) // 2 for n in volume.array.shape]
        array = np.ascontiguousarray(volume.array[tuple(slice(s, s + size) for s in start)])
        ijk_to_ras = volume.ijk_to_ras.copy()
        ijk_to_ras[:3, 3] += ijk_to_ras[:3, :3] @ np.array(start[::-1], float)
        seconds = {}
        for name, extractor in methods.items():
            extractor.extract(array, ijk_to_ras, BUDGET)  # warm-up: allocations, caches
            times = []
            for _ in range(args.runs):
                began = time.perf_counter()
                extractor.extract(array, ijk_to_ras, BUDGET)
                times.append(time.perf_counter() - began)
            seconds[name] = float(np.median(times))
        megavoxels = array.size / 1e6
        print(f"{size:>5}³ {megavoxels:8.2f} " + " ".join(f"{s:9.2f} {s / megavoxels:7.2f}" for s in seconds.values())
              + f" {seconds['SP3D'] / seconds['DoG-3D']:9.2f}")
    return 0
