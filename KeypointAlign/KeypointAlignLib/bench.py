"""`slicer-keypoints bench align`: every registration method on the synthetic FIRE-like benchmark (and on a real
FIRE folder when given) in one warm process: FIRE Registration Score per category and seconds per pair."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from KeypointCLI import benchmarks
from KeypointCLI.benchmarks import DATA_HELP, comma_names, data_folder, peak_rss_mib
from KeypointEngineLib.errors import InputError
from KeypointEngineLib.retina.parameters import FEATURE_BACKENDS


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "align", help="benchmark retinal registration (synthetic FIRE-like pairs, optionally a real FIRE folder)",
        description="Run every keypoint backend with the homography and the automatic model on the same pairs: the "
                    "synthetic benchmark made from real fundus photographs held apart from training (DRIVE testing/ "
                    "under the data folder, and scikit-image's retina), and a real FIRE folder if given. Prints the "
                    "FIRE Registration Score (AUC of success rate over 0-25 px, errors on a 2912-px field of view) "
                    "per category and the seconds per pair.")
    parser.add_argument("--fire", type=Path, help="a FIRE-layout folder (Images/, Ground Truth/): prints the published "
                                                  "protocol's S/P/A AUCs and mAUC (success at 1..25 px, P37 left "
                                                  "out) and the continuous score; per-pair errors go to --json")
    parser.add_argument("--data", type=Path, help=f"data folder with fundus/DRIVE/testing/images "
                                                  f"{DATA_HELP}")
    parser.add_argument("--pairs", type=int, default=50, help="synthetic pairs per category (default 50)")
    parser.add_argument("--geometry", choices=("eye", "legacy"), default="eye",
                        help="how synthetic pairs arise: 'eye' (default: a curved retina seen through the pupil from "
                             "two poses, plus the first benchmark's warps as the category legacy_warp) or 'legacy' "
                             "(the first benchmark: warps only, for comparison with its figures)")
    parser.add_argument("--seed", type=int, default=2026, help="benchmark seed (default 2026: the reported figures)")
    parser.add_argument("--categories", help="comma-separated categories to run (default: all of the geometry's)")
    parser.add_argument("--no-real-checks", action="store_true", help="leave out the checks on real pairs")
    parser.add_argument("--backends", default=",".join(FEATURE_BACKENDS),
                        help=f"comma-separated keypoint backends (default: all: {','.join(FEATURE_BACKENDS)})")
    parser.add_argument("--working-size", type=int, default=768, help="working scale in px (default 768)")
    parser.add_argument("--models", type=Path, metavar="FOLDER",
                        help="also benchmark every learned model (weights + card) in FOLDER, e.g. ablation runs")
    parser.add_argument("--transforms", default="homography,auto",
                        help="comma-separated transform models per backend (default: homography,auto)")
    parser.add_argument("--ablate-vessel-prior", action="store_true",
                        help="also run every learned model without the vessel prior at inference")
    parser.add_argument("--ablate-subpixel", action="store_true",
                        help="also run every backend without the subpixel refinement of the inliers")
    parser.add_argument("--json", type=Path, help="write all figures and per-pair errors as JSON")
    parser.add_argument("--plot", type=Path, help="write the success-rate curves as PNG")
    parser.add_argument("--card", type=Path, metavar="MODEL_JSON",
                        help="record the measured figures of every method in this model card's metrics, with the "
                             "benchmark command that produced them")
    return parser


def benchmark_images(data: Path | None) -> list[tuple[str, np.ndarray]]:
    """The held-out real photographs: DRIVE testing/ when the data folder has it, plus scikit-image's retina."""
    from KeypointAlignLib.samples import sample_retina_path
    from KeypointMRMLLib.images2d import read_image_2d

    images = []
    folder = data_folder(data) / "fundus" / "DRIVE" / "testing" / "images"
    for path in sorted(folder.glob("*.tif")):
        images.append((path.name, read_image_2d(path).array[0]))
    images.append(("skimage retina", read_image_2d(sample_retina_path()).array[0]))
    return images


def held_out_angiograms(data: Path | None) -> list[tuple[str, np.ndarray]]:
    """The real angiograms held out from training (KeypointEvaluationLib/retina/angiograms.py), when present."""
    from KeypointEvaluationLib.retina.angiograms import benchmark_angiograms
    from KeypointMRMLLib.images2d import read_image_2d

    return [(path.name, read_image_2d(path).array[0]) for path in benchmark_angiograms(data_folder(data))]


TRANSFORMS = {"homography": "projective", "quadratic": "quadratic", "auto": "auto"}  # benchmark name -> model


def methods(backends: list[str], working_size: int, models: Path | None = None,
            transforms: tuple[str, ...] = tuple(TRANSFORMS), ablate_vessel_prior: bool = False,
            ablate_subpixel: bool = False) -> dict:
    """"backend+transform" -> callable(fixed, moving, fixed_fov, moving_fov) -> Registration, per backend and
    transform (a field of view in degrees, None where unknown)."""
    from KeypointEngineLib.registry import ModelRegistry
    from KeypointEngineLib.retina.backends import RETINA_BACKENDS
    from KeypointEngineLib.retina.learned import LearnedExtractor
    from KeypointEngineLib.retina.pipeline import register_pair, register_with_features

    # loaded once, in the engine's pool: a warm process; "auto" shares the loaded backends it tries
    extractors = {backend: RETINA_BACKENDS.get(backend) for backend in backends if backend != "auto"}
    if models is not None:
        registry = ModelRegistry(models)
        for card in registry.cards():
            extractors[f"learned:{card.name}"] = LearnedExtractor(card.name, registry=registry)
    if ablate_vessel_prior:
        for name, extractor in list(extractors.items()):
            if getattr(extractor, "vessel_prior", False):
                extractors[f"{name}-no-vessel-prior"] = LearnedExtractor(
                    extractor.card.name, registry=ModelRegistry(extractor.card.folder), vessel_prior=False)
    result = {}
    if "auto" in backends:
        for transform in transforms:
            def method(fixed, moving, fixed_fov, moving_fov, model=TRANSFORMS[transform]):
                return register_with_features(fixed, moving, "auto", model=model, working_size=working_size,
                                              fixed_fov_degrees=fixed_fov, moving_fov_degrees=moving_fov)

            result[f"auto+{transform}"] = method
    for backend, extractor in extractors.items():
        for transform in transforms:
            for subpixel in (True, False) if ablate_subpixel else (True,):
                def method(fixed, moving, fixed_fov, moving_fov, extractor=extractor, model=TRANSFORMS[transform],
                           subpixel=subpixel):
                    return register_pair(fixed, moving, model=model, extractor=extractor, working_size=working_size,
                                         fixed_fov_degrees=fixed_fov, moving_fov_degrees=moving_fov,
                                         subpixel=subpixel)

                result[f"{backend}{'' if subpixel else '-no-subpixel'}+{transform}"] = method
    return result


def run(args) -> int:
    from KeypointCLI.outputs import check_output, write_json
    from KeypointEvaluationLib.retina.benchmark import make_benchmark

    backends = comma_names(args.backends, FEATURE_BACKENDS, "backend")
    transforms = tuple(comma_names(args.transforms, TRANSFORMS, "transform"))
    check_output(args.json, (".json",), "JSON figures")
    check_output(args.plot, (".png",), "plot")
    if args.card is not None and not args.card.is_file():
        raise InputError(f"The model card {args.card} does not exist; give the .json beside the weights.")
    from KeypointEvaluationLib.retina.benchmark import CATEGORIES, LEGACY_CATEGORIES

    chosen = comma_names(args.categories, CATEGORIES if args.geometry == "eye" else LEGACY_CATEGORIES,
                         "category") if args.categories else None
    images, angiograms = benchmark_images(args.data), held_out_angiograms(args.data)
    if not angiograms and args.geometry == "eye":
        print("The real_fa category is left out: no angiograms under the data folder (see the data README).")
    pairs = make_benchmark(images, args.pairs, args.seed, chosen, args.geometry, angiograms)
    categories = list(dict.fromkeys(pair.category for pair in pairs))
    print(f"Synthetic FIRE-like benchmark ({args.geometry} geometry): {len(pairs)} pairs ({args.pairs} per category) "
          f"from {len(images)} real photographs and {len(angiograms)} real angiograms held apart from training; seed "
          f"{args.seed}.")
    # models load once, for both pair sets
    candidates = methods(backends, args.working_size, args.models, transforms, args.ablate_vessel_prior,
                         args.ablate_subpixel)
    report = {"synthetic": _evaluate(candidates, pairs), "fire": {}, "pairs_per_category": args.pairs,
              "seed": args.seed, "geometry": args.geometry}
    _print_table(f"Synthetic, {args.geometry} geometry (FIRE Registration Score, AUC 0-25 px)", report["synthetic"],
                 categories)
    if args.geometry == "eye":
        _print_targets(report["synthetic"])
    report["real"] = {} if args.no_real_checks else _real_checks(candidates, data_folder(args.data))
    if args.fire:
        fire_pairs = _fire_benchmark_pairs(args.fire)
        report["fire"] = _evaluate(candidates, fire_pairs, published=True)
        _print_published_table(f"FIRE folder {args.fire}, published protocol (AUC of success at 1..25 px, "
                               f"P37 left out)", report["fire"])
        _print_table(f"FIRE folder {args.fire}, continuous FIRE Registration Score (AUC 0-25 px, every pair)",
                     report["fire"], sorted({p.category for p in fire_pairs}))

    report["peak_rss_mib"] = peak_rss_mib()
    print(f"\nPeak resident memory of this process: {report['peak_rss_mib']:.0f} MiB")
    if args.json:
        write_json(args.json, report)
    if args.plot:
        _plot({part: {name: result["errors"] for name, result in report[part].items()}
               for part in ("synthetic", "fire") if report[part]}, args.plot)
    if args.card:
        record_in_card(args.card, report)
    return 0


def record_in_card(card_path: Path, report: dict) -> None:
    """Write the measured scores (not the per-pair errors) into a model card's metrics, with how they were made."""
    summary = {part: {name: {key: result[key] for key in ("scores", "published", "confidence", "seconds_per_pair")
                             if key in result}
                      for name, result in report[part].items()} for part in ("synthetic", "fire") if report[part]}
    if report.get("real"):
        summary["real"] = {name: result["summary"] for name, result in report["real"].items()}
    benchmarks.record_in_card(card_path, "registration_benchmark", {
        **summary, "pairs_per_category": report["pairs_per_category"], "seed": report["seed"],
        "geometry": report["geometry"],
        "peak_rss_mib": report["peak_rss_mib"]})


def _evaluate(candidates: dict, pairs, published: bool = False) -> dict:
    """Scores per category, seconds per pair and per-pair errors (with the pairs' IDs) of every method on the same
    pairs; with `published`, also the published FIRE protocol's AUCs."""
    from KeypointEvaluationLib.retina.benchmark import confidence_figures, run_method
    from KeypointEvaluationLib.retina.fire_score import published_scores, score_by_category

    results = {}
    for name, method in candidates.items():
        result = run_method(method, pairs)
        results[name] = {"scores": score_by_category(result.errors),
                         "seconds_per_pair": float(np.mean(result.seconds)), "errors": result.errors,
                         "ids": result.ids, "confident": result.confident, "evidence": result.evidence,
                         "confidence": confidence_figures(result.errors, result.confident)}
        if published:
            results[name]["published"] = published_scores(result.errors, result.ids)
    return results


def _real_checks(candidates: dict, data: Path) -> dict:
    """Forward-backward consistency on real same-eye pairs and confidence on real wrong-eye pairs, per method."""
    from KeypointEvaluationLib.retina.real_checks import CONSISTENCY_TARGET_PX, real_pairs, run_checks, summarise
    from KeypointMRMLLib.images2d import read_image_2d

    pairs = real_pairs(data)
    if not pairs:
        print(f"\nReal-pair checks skipped: none of their images is in {data} (see the data README).")
        return {}
    print(f"\nReal pairs ({sum(p.same_eye for p in pairs)} same-eye, {sum(not p.same_eye for p in pairs)} wrong-eye): "
          f"forward-backward consistency (target <= {CONSISTENCY_TARGET_PX:g} px at 2912 px) and wrong-eye "
          f"confidence (target: none)")
    print(f"{'method':22s}{'consistent':>12s}{'median px':>11s}{'both confident':>16s}{'wrong-eye confident':>21s}"
          "   forward-backward px per same-eye pair")
    images = {path: read_image_2d(path).array[0] for pair in pairs for path in (pair.first, pair.second)}  # read once
    results = {}
    # every method with the cameras' fields of view; the default also as it runs when none is given (scale searched)
    runs = [(name, method, True) for name, method in candidates.items()]
    if DEFAULT_METHOD in candidates:
        runs.append((f"{DEFAULT_METHOD}, no fov", candidates[DEFAULT_METHOD], False))
    for name, method, fields_known in runs:
        checks = run_checks(method, pairs, images.__getitem__, fields_known)
        summary = summarise(checks)
        results[name] = {"summary": summary, "pairs": [vars(check) for check in checks]}
        per_pair = ", ".join(f"{check.forward_backward_px:.1f}" for check in checks if check.same_eye)
        median = summary["median_forward_backward_px"]
        print(f"{name:22s}{summary['consistent']:>7d} / {summary['same_eye_pairs']:<2d}"
              + (f"{median:>11.1f}" if median is not None else f"{'n/a':>11s}")
              + f"{summary['same_eye_confident']:>11d} / {summary['same_eye_pairs']:<2d}"
              f"{summary['wrong_eye_confident']:>15d} / {summary['wrong_eye_pairs']:<3d}   {per_pair}")
    return results


def _fire_benchmark_pairs(folder: Path):
    from KeypointEvaluationLib.retina.benchmark import BenchmarkPair
    from KeypointEvaluationLib.retina.fire import read_fire_folder
    from KeypointMRMLLib.images2d import read_image_2d

    pairs = []
    for pair in read_fire_folder(folder):
        fixed, moving = read_image_2d(pair.fixed_path).array[0], read_image_2d(pair.moving_path).array[0]
        pairs.append(BenchmarkPair(pair.category, pair.id, fixed, moving, pair.fixed_points, pair.moving_points, 1.0))
    return pairs


def _print_table(title: str, results: dict, categories) -> None:
    from KeypointEvaluationLib.retina.benchmark import RIGHT_PX

    columns = [*categories, "overall", "mean"]
    print(f"\n{title}")
    print(f"{'method':22s}" + "".join(f"{column:>14s}" for column in columns) + f"{'s/pair':>10s}"
          + f"   confident: precision / recall (right: <= {RIGHT_PX:g} px)")
    for name, result in results.items():
        scores, confidence = result["scores"], result["confidence"]
        print(f"{name:22s}" + "".join(f"{scores.get(column, float('nan')):14.3f}" for column in columns)
              + f"{result['seconds_per_pair']:10.2f}"
              + f"   {confidence['precision']:.2f} / {confidence['recall']:.2f} "
                f"({confidence['confident']} confident, {confidence['right']} right of {confidence['pairs']})")


DEFAULT_METHOD = "auto+auto"


def _print_targets(results: dict) -> None:
    """The issues' targets for the default method against what it scored (those of the categories in the run)."""
    if DEFAULT_METHOD not in results:
        return
    scores = results[DEFAULT_METHOD]["scores"]
    targets = [(category, 0.90) for category in ("high_overlap", "low_overlap", "appearance", "cross_modal")]
    targets += [("scale", 0.85), ("real_fa", 0.85)]
    if "high_overlap" in scores:
        targets += [("exported", scores["high_overlap"] - 0.02)]  # the clean category less 0.02
    print(f"\nTargets for the default ({DEFAULT_METHOD}):")
    for category, target in targets:
        if category in scores:
            met = "met" if scores[category] >= target else "NOT met"
            print(f"  {category:14s} {scores[category]:.3f} against >= {target:.3f}: {met}")


def _print_published_table(title: str, results: dict) -> None:
    from KeypointEvaluationLib.retina.fire_score import PUBLISHED_CATEGORIES

    columns = [*PUBLISHED_CATEGORIES, "mAUC"]
    print(f"\n{title}")
    print(f"{'method':22s}" + "".join(f"{column:>10s}" for column in columns))
    for name, result in results.items():
        scores = result["published"]
        print(f"{name:22s}" + "".join(f"{scores.get(column, float('nan')):10.3f}" for column in columns))


def _plot(parts: dict, path: Path) -> None:
    """One row of success-rate curves per part (synthetic, FIRE), one panel per category."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from KeypointEvaluationLib.retina.fire_score import MAX_THRESHOLD_PX, success_curve

    columns = max(len({category for errors in curves.values() for category in errors}) for curves in parts.values())
    figure, axes = plt.subplots(len(parts), columns, figsize=(4 * columns, 3.6 * len(parts)), sharey=True,
                                squeeze=False)
    thresholds = np.linspace(0, MAX_THRESHOLD_PX, 251)
    for row, (part, curves) in zip(axes, parts.items(), strict=True):
        categories = sorted({category for errors in curves.values() for category in errors})
        for axis, category in zip(row, categories, strict=False):
            for name, errors in curves.items():
                axis.plot(thresholds, success_curve(errors.get(category, []), thresholds), label=name)
            axis.set_title(f"{part}: {category}")
            axis.set_xlabel("error threshold (px, 2912-px field of view)")
            axis.grid(alpha=0.3)
        for axis in row[len(categories):]:
            axis.set_visible(False)
        row[0].set_ylabel("success rate")
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    from KeypointCLI.outputs import atomic_output

    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)

