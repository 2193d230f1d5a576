"""`slicer-keypoints bench align-speed`: seconds and memory per full-resolution pair, against the SIFT + MAGSAC
baseline a user would script with OpenCV (KeypointEvaluationLib/retina/sift_magsac.py), both measured in this run.

Pairs are the benchmark's (eye geometry, real photographs) upsampled so the longer side spans --size px (FIRE's
2912 by default): high-overlap colour pairs, which SIFT settles, and cross-modal pairs, which mostly need the learned
model; a pair counts as settled by SIFT when SIFT's result was confident (auto then stops), otherwise as needing
the learned model (auto then ran it too). Figures:
- warm: one process, models loaded, `register_with_features(..., "auto")` per pair, median per group;
- cold: a fresh `slicer-keypoints align` process per run on one pair of each group, and the baseline script as a
  fresh process, wall seconds and peak resident memory of the child;
- large: one cold `slicer-keypoints align --warped --checkerboard` at --large px, peak resident memory.
It exits 0 once the figures are printed, targets met or not (they are printed beside them).
"""

from __future__ import annotations

from pathlib import Path

from KeypointCLI.benchmarks import DATA_HELP
from KeypointEngineLib.errors import InputError

TARGETS = {"warm_seconds": 1.5, "cold_sift_seconds": 3.5, "rss_gib": 1.5, "large_rss_gib": 4.0}  # issue 14
CATEGORIES = ("high_overlap", "cross_modal")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "align-speed", help="time KeypointAlign at full resolution against a SIFT + MAGSAC script",
        description="Register benchmark pairs upsampled to --size px warm (one process) and cold (a fresh CLI "
                    "process), beside OpenCV SIFT + MAGSAC++ on the same pairs in the same run; print medians for "
                    "pairs SIFT settles and pairs that need the learned model, peak memory, and the targets.")
    parser.add_argument("--pairs", type=int, default=5, help="pairs per category (high overlap, cross-modal; "
                                                              "default 5)")
    parser.add_argument("--runs", type=int, default=3, help="cold runs of each command (default 3)")
    parser.add_argument("--size", type=int, default=2912, help="longer side of the pairs in px (default 2912)")
    parser.add_argument("--large", type=int, default=6000,
                        help="longer side for the memory figure with --warped and --checkerboard (default 6000; 0 "
                             "skips it)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the benchmark pairs (default 2026)")
    parser.add_argument("--data", type=Path, help=f"data folder with fundus/DRIVE/testing/images {DATA_HELP}")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser


def run(args) -> int:
    import tempfile

    from KeypointAlignLib.bench import benchmark_images
    from KeypointCLI.outputs import check_output, write_json
    from KeypointEvaluationLib.retina.benchmark import make_benchmark

    for name in ("pairs", "runs", "size"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be 1 or more, not {getattr(args, name)}.")
    if args.large < 0:
        raise InputError(f"--large must be 0 (skip) or a size in px, not {args.large}.")
    check_output(args.json, (".json",), "JSON figures")
    pairs = make_benchmark(benchmark_images(args.data), args.pairs, args.seed, CATEGORIES)
    print(f"{len(pairs)} benchmark pairs ({args.pairs} high-overlap, {args.pairs} cross-modal) upsampled to "
          f"{args.size} px on the longer side.")
    figures = {"size_px": args.size, "warm": _warm(pairs, args.size)}
    with tempfile.TemporaryDirectory() as folder:
        figures["cold"] = _cold(pairs, figures["warm"], args.size, args.runs, Path(folder))
        if args.large:
            figures["large"] = _large(pairs[0], args.large, Path(folder))
    _print(figures)
    if args.json:
        write_json(args.json, figures)
    return 0


def upsampled(image, size: int, reference_shape):
    """`image` scaled by the factor that brings `reference_shape`'s longer side to `size` px (bicubic)."""
    import cv2

    factor = size / max(reference_shape[:2])
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)


def _warm(pairs, size: int) -> dict:
    import time

    import numpy as np

    from KeypointEngineLib.retina.pipeline import register_with_features
    from KeypointEvaluationLib.retina.sift_magsac import sift_magsac

    def ours(fixed, moving, pair, features="auto"):
        fields = dict(fixed_fov_degrees=pair.fields_of_view[0], moving_fov_degrees=pair.fields_of_view[1])
        return register_with_features(fixed, moving, features, **fields)

    big = [(upsampled(p.fixed, size, p.fixed.shape), upsampled(p.moving, size, p.fixed.shape), p) for p in pairs]
    ours(*big[-1], features="learned")  # warm-up: the learned model loads, threads and allocators settle
    groups, baseline, settled = {"sift": [], "learned": []}, [], []
    for fixed, moving, pair in big:
        start = time.perf_counter()
        result = ours(fixed, moving, pair)
        seconds = time.perf_counter() - start
        settled_by_sift = "SIFT" in result.report.device and result.report.confident  # else auto ran both
        group = "sift" if settled_by_sift else "learned"
        groups[group].append(seconds)
        settled.append(group)
        start = time.perf_counter()
        sift_magsac(fixed, moving)
        baseline.append(time.perf_counter() - start)
    summary = {group: {"pairs": len(times), "median_seconds": float(np.median(times)) if times else float("nan"),
                       "seconds": times} for group, times in groups.items()}
    summary["baseline"] = {"pairs": len(baseline), "median_seconds": float(np.median(baseline)), "seconds": baseline}
    summary["settled_by"] = settled
    return summary


def _cold(pairs, warm: dict, size: int, runs: int, folder: Path) -> dict:
    """Fresh processes on the first pair of each group: our CLI and the baseline script, in turn."""
    import sys

    from KeypointCLI.previews import write_image
    from KeypointEvaluationLib.retina.sift_magsac import NO_HOMOGRAPHY

    results = {}
    for group in ("sift", "learned"):
        if group not in warm["settled_by"]:
            continue
        pair = pairs[warm["settled_by"].index(group)]
        fixed, moving = folder / f"{group}-fixed.png", folder / f"{group}-moving.png"
        write_image(fixed, upsampled(pair.fixed, size, pair.fixed.shape))
        write_image(moving, upsampled(pair.moving, size, pair.fixed.shape))
        ours = [_cli(), "align", str(fixed), str(moving), "-o", str(folder / "t.h5"),
                "--fixed-fov", str(pair.fields_of_view[0]), "--moving-fov", str(pair.fields_of_view[1])]
        baseline = [sys.executable, "-m", "KeypointEvaluationLib.retina.sift_magsac", str(fixed), str(moving)]
        measured = {"ours": [], "baseline": []}
        for _ in range(runs):  # a registration or a baseline that finds no transform still counts as a run
            measured["ours"].append(_child(ours, (0, 1)))
            measured["baseline"].append(_child(baseline, (0, NO_HOMOGRAPHY)))
        results[group] = {name: _median(runs_) for name, runs_ in measured.items()}
    return results


def _large(pair, size: int, folder: Path) -> dict:
    from KeypointCLI.previews import write_image

    fixed, moving = folder / "large-fixed.png", folder / "large-moving.png"
    write_image(fixed, upsampled(pair.fixed, size, pair.fixed.shape))
    write_image(moving, upsampled(pair.moving, size, pair.fixed.shape))
    command = [_cli(), "align", str(fixed), str(moving), "-o", str(folder / "t.h5"), "--fov", "45",
               "--warped", str(folder / "warped.png"), "--checkerboard", str(folder / "checkerboard.png")]
    return {"size_px": size, **_child(command, (0, 1))}


def _cli() -> str:
    """The installed `slicer-keypoints` beside this Python (what a user runs)."""
    import shutil
    import sys

    script = Path(sys.executable).with_name("slicer-keypoints")
    found = str(script) if script.exists() else shutil.which("slicer-keypoints")
    if not found:
        raise InputError("slicer-keypoints is not installed beside this Python: run scripts/setup.sh.")
    return found


# a small Python that runs the command and reports its child's figures: a child forked straight from this
# process would inherit this process's peak memory in its own count (Linux keeps the high-water mark across exec)
_LAUNCHER = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def _child(command: list[str], expected: tuple[int, ...] = (0,)) -> dict:
    """Wall seconds, peak resident memory (GiB) and exit status of one fresh process running `command`, whose
    output is discarded; an exit status not in `expected` (a crash) is an error, not a figure."""
    import subprocess
    import sys

    line = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, check=True)
    seconds, peak, code = line.stdout.split()
    if int(code) not in expected:
        raise RuntimeError(f"{' '.join(command)} exited {code}: run it alone to see why.")
    kib = int(peak) / 1024 if sys.platform == "darwin" else int(peak)  # bytes on macOS, KiB on Linux
    return {"seconds": float(seconds), "rss_gib": kib / 1024 ** 2, "exit_status": int(code)}


def _median(runs: list[dict]) -> dict:
    import numpy as np

    return {"seconds": float(np.median([run["seconds"] for run in runs])),
            "rss_gib": float(np.median([run["rss_gib"] for run in runs])),
            "exit_statuses": [run["exit_status"] for run in runs]}


def _print(figures: dict) -> None:
    warm, cold = figures["warm"], figures["cold"]
    base = warm["baseline"]["median_seconds"]
    print(f"\nWarm (one process, models loaded), median seconds per {figures['size_px']}-px pair:")
    for group, label in (("sift", "settled by SIFT"), ("learned", "needing the learned model")):
        row = warm[group]
        if row["pairs"]:
            print(f"  {label:26s} {row['median_seconds']:6.2f} s  ({row['pairs']} pairs; "
                  f"{row['median_seconds'] / base:.2f}x the baseline)")
    print(f"  {'SIFT + MAGSAC baseline':26s} {base:6.2f} s  ({warm['baseline']['pairs']} pairs)")
    print("\nCold (a fresh process per run), median wall seconds and peak resident memory:")
    for group, row in cold.items():
        ours, baseline = row["ours"], row["baseline"]
        print(f"  slicer-keypoints align, pair {group:7s} {ours['seconds']:6.2f} s {ours['rss_gib']:5.2f} GiB  "
              f"(baseline script {baseline['seconds']:.2f} s {baseline['rss_gib']:.2f} GiB; "
              f"{ours['seconds'] / baseline['seconds']:.2f}x)")
    if "large" in figures:
        large = figures["large"]
        print(f"  --warped --checkerboard at {large['size_px']} px: {large['seconds']:.2f} s, "
              f"{large['rss_gib']:.2f} GiB peak")
    print("\nTargets (issue 14):")
    warm_worst = max((warm[g]["median_seconds"] for g in ("sift", "learned") if warm[g]["pairs"]), default=None)
    checks = [("warm <= 1.5 s per pair", warm_worst, TARGETS["warm_seconds"]),
              ("cold <= 3.5 s, SIFT-settled pair", cold.get("sift", {}).get("ours", {}).get("seconds"),
               TARGETS["cold_sift_seconds"]),
              (f"peak RSS <= 1.5 GiB at {figures['size_px']} px",
               max((row["ours"]["rss_gib"] for row in cold.values()), default=None), TARGETS["rss_gib"]),
              ("peak RSS <= 4 GiB at the large size with outputs", figures.get("large", {}).get("rss_gib"),
               TARGETS["large_rss_gib"])]
    for label, value, target in checks:
        verdict = "not measured" if value is None else ("met" if value <= target else "NOT met")
        print(f"  {label}: {'' if value is None else f'{value:.2f}, '}{verdict}")
