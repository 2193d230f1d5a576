"""`slicer-keypoints bench detect`: SP3D against classical 3D detectors and intensity-based registration on the
held-out volumes under held-out motions and on the real scan pairs (protocol: KeypointEvaluationLib/volume)."""

from __future__ import annotations

from pathlib import Path

from KeypointCLI.benchmarks import DATA_HELP, comma_names, data_folder, peak_rss_mib, record_in_card

KEYPOINT_METHODS = ("SP3D", "DoG-3D", "Harris-3D", "Hessian-3D")
INTENSITY_METHODS = ("SimpleITK Mattes MI", "elastix affine", "ANTs Affine")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "detect", help="benchmark SP3D keypoints and volume matching (held-out CT/MRI, real scan pairs)",
        description="Every method on the same pairs in one run: held-out volumes repositioned (rotation axis uniform "
                    "on the sphere, angle in 15-degree bins up to 90, 30 mm shift, 30 % of the slices cut), a "
                    "field-of-view sweep, and the real pairs of volumes-more/ (knee echoes, breast DCE phases, "
                    "IXI002 T1/T2) as they are and under added rigid motions. Keypoint methods get the same budget "
                    "(top 500 after 4 mm NMS in the body mask) and the same rigid matching. Prints repeatability and "
                    "matching score at 2 mm, MDBL, success (TRE <= 4 mm on a 10 mm grid in the fixed body) per bin, "
                    "confident precision and seconds per volume.")
    parser.add_argument("--data", type=Path, help=f"data folder with volumes/ and volumes-more/ {DATA_HELP}")
    parser.add_argument("--pairs", type=int, default=20, help="pairs per 15-degree rotation bin (default 20)")
    parser.add_argument("--cut-pairs", type=int, default=5,
                        help="pairs per field-of-view cut of the sweep (0, 15, 30, 45 %%; default 5)")
    parser.add_argument("--real-motions", type=int, default=3,
                        help="added rigid motions per real pair, besides the pair as it is (default 3)")
    parser.add_argument("--unrelated", type=int, default=3,
                        help="pairs of two different held-out volumes, which must never be confident (default 3)")
    parser.add_argument("--methods", default=",".join(KEYPOINT_METHODS + INTENSITY_METHODS),
                        help="comma-separated methods (default: all: %(default)s)")
    parser.add_argument("--models", type=Path, metavar="FOLDER",
                        help="take the 'sp3d' weights and card from FOLDER (e.g. a training run's export)")
    parser.add_argument("--seed", type=int, default=2026, help="benchmark seed (default 2026: the reported figures)")
    parser.add_argument("--json", type=Path, help="write the summary and every pair's figures as JSON")
    parser.add_argument("--plot", type=Path, help="write success against rotation and field-of-view cut as PNG")
    parser.add_argument("--from-json", type=Path, metavar="JSON",
                        help="summarise the pairs of an earlier --json run again (with the shipped confidence rule) "
                             "instead of running the methods")
    parser.add_argument("--card", type=Path, metavar="MODEL_JSON",
                        help="record the summary of every method in this model card's metrics, with this command")
    return parser


def run(args) -> int:
    from KeypointCLI.outputs import check_output, write_json
    from KeypointEngineLib.errors import InputError

    methods = comma_names(args.methods, KEYPOINT_METHODS + INTENSITY_METHODS, "method")
    check_output(args.json, (".json",), "JSON figures")
    check_output(args.plot, (".png",), "plot")
    if args.card is not None and not args.card.is_file():
        raise InputError(f"The model card {args.card} does not exist; give the .json beside the weights.")
    for name in ("pairs", "cut_pairs", "real_motions", "unrelated"):
        if getattr(args, name) < 0:
            raise InputError(f"--{name.replace('_', '-')} must be 0 or more, not {getattr(args, name)}.")
    from KeypointEngineLib.volume.matching import CONFIDENCE
    from KeypointEvaluationLib.volume.benchmark import calibrate, plot_success, run_benchmark, summarise
    from KeypointEvaluationLib.volume.cases import case_specs

    if args.from_json:
        import json

        if not args.from_json.is_file():
            raise InputError(f"{args.from_json} does not exist; give the --json file of an earlier run.")
        earlier = json.loads(args.from_json.read_text())
        records, seed, options = [_restored(r) for r in earlier["pairs"]], earlier["seed"], earlier["options"]
        print(f"SP3D benchmark pairs of {args.from_json} ({len({r['case'] for r in records})} pairs), "
              f"summarised with the shipped confidence rule {CONFIDENCE}.")
        summary = summarise(records, CONFIDENCE)
    else:
        data = data_folder(args.data)
        specs = case_specs(data, args.pairs, args.seed, pairs_per_cut=args.cut_pairs,
                           real_motions=args.real_motions, unrelated=args.unrelated)
        if not specs:
            raise InputError(f"No benchmark volumes under {data}/volumes and volumes-more; give --data.")
        print(f"SP3D benchmark: {len(specs)} pairs (seed {args.seed}); methods: {', '.join(methods)}.")
        records = run_benchmark(specs, data, _extractors(methods, args.models), _intensity(methods))
        seed, options = args.seed, {"pairs_per_bin": args.pairs, "cut_pairs": args.cut_pairs,
                                    "real_motions": args.real_motions, "unrelated": args.unrelated}
        summary = summarise(records)
    _print_table(summary)
    shipped = tuple(name for name in ("Hessian-3D", "SP3D") if any(r["method"] == name for r in records))
    if shipped:  # the module's two backends share one rule
        rule, precision, recall = calibrate(records, shipped)
        print(f"\nConfidence rule that keeps the confident results of {' and '.join(shipped)} right >= 99 % here: "
              f"{rule} (precision {precision:.2f}, recall {recall:.2f}); shipped: {CONFIDENCE}")
    report = {"summary": summary, "pairs": records, "seed": seed, "peak_rss_mib": peak_rss_mib(),
              "options": options}
    print(f"\nPeak resident memory of this process: {report['peak_rss_mib']:.0f} MiB")
    if args.json:
        write_json(args.json, report)
    if args.plot:
        plot_success(summary, args.plot)
    if args.card:
        record_in_card(args.card, "detect_benchmark",
                       {"summary": report["summary"], **report["options"], "seed": report["seed"]})
    return 0


def _restored(record: dict) -> dict:
    """A record read back from strict JSON, where infinite TRE (no transform) and NaN measures were written null."""
    return {key: (float("inf") if key == "tre_mm" else float("nan")) if value is None else value
            for key, value in record.items()}


def _extractors(methods: list[str], models: Path | None) -> dict:
    from KeypointEngineLib.registry import ModelRegistry
    from KeypointEngineLib.volume.classical import DETECTORS, ClassicalExtractor
    from KeypointEngineLib.volume.extract import SP3DExtractor

    extractors = {}
    if "SP3D" in methods:
        extractors["SP3D"] = SP3DExtractor(registry=ModelRegistry(models) if models else None)
    extractors.update({name: ClassicalExtractor(name) for name in methods if name in DETECTORS})
    return extractors


def _intensity(methods: list[str]) -> dict:
    from KeypointEvaluationLib.volume.intensity import INTENSITY_METHODS as AVAILABLE

    return {name: AVAILABLE[name] for name in methods if name in AVAILABLE}


def _print_table(summary: dict) -> None:
    from KeypointEvaluationLib.volume.cases import ANGLE_BINS

    bins = [f"{low}-{high}" for low, high in ANGLE_BINS]
    print("\nKeypoints on the held-out volumes under held-out motions (same budget: 500 after 4 mm NMS)")
    print(f"{'method':22} {'repeat@2mm':>10} {'match score':>11} {'MDBL mm':>8} {'s/volume':>9}")
    for method, row in summary.items():
        if "confident_pairs" in row:
            print(f"{method:22} {row['repeatability']:10.3f} {row['matching_score']:11.3f} {row['mdbl_mm']:8.2f} "
                  f"{row['seconds_per_volume']:9.2f}")
    print("\nSuccess (TRE <= 4 mm) per rotation bin (degrees), on the real pairs, confident precision (unrelated "
          "pairs count as wrong), seconds (per volume for keypoints, per pair for intensity methods)")
    print(f"{'method':22} " + " ".join(f"{b:>6}" for b in bins) + f" {'real':>6} {'conf.prec':>9} {'conf/n':>7}"
          f" {'seconds':>7}")
    for method, row in summary.items():
        cells = " ".join(f"{100 * row['success_by_angle'][b]:6.0f}" for b in bins)
        confident = (f"{row['confident_precision']:9.2f} {row['confident_pairs']:3d}/{row['pairs']:<3d}"
                     if "confident_pairs" in row else f"{'-':>9} {'-':>7}")
        seconds = row.get("seconds_per_volume", row.get("seconds_per_pair"))
        print(f"{method:22} {cells} {100 * row['success_real']:6.0f} {confident} {seconds:7.2f}")
    cuts = next((row["success_by_cut"] for row in summary.values() if row["success_by_cut"]), {})
    if cuts:
        print("\nSuccess per field-of-view cut (share of slices removed; rotation 0-90 degrees)")
        print(f"{'method':22} " + " ".join(f"{float(c):6.0%}" for c in cuts))
        for method, row in summary.items():
            print(f"{method:22} " + " ".join(f"{100 * row['success_by_cut'][c]:6.0f}" for c in cuts))
