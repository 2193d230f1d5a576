"""`slicer-keypoints bench segment`: KAF-UNet and the plain UNet on the 13 ACDC validation patients (3D Dice and
HD95 per structure, ED and ES apart; protocol: KeypointEvaluationLib/cardiac/benchmark.py), the shipped models and
any few-shot checkpoints in one run."""

from __future__ import annotations

import re
from pathlib import Path

from KeypointCLI.benchmarks import DATA_HELP, data_folder, record_in_card

# Table 1 of the KAF paper (ACDC, mean Dice of RV, myocardium and LV over five folds), for reference: other splits
PAPER = {"UNet, random init": {2: 0.588, 6: 0.782}, "KAF, random init": {2: 0.655, 6: 0.827},
         "KAF, pretrained": {2: 0.741, 6: 0.873}}


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "segment", help="benchmark KeypointSeg on the ACDC validation patients (Dice, HD95, seconds)",
        description="Segment the 13 validation patients' ED and ES frames (KeypointEvaluationLib/cardiac/splits.py; "
                    "no training run sees them) with each model in one run and print 3D Dice and HD95 (mm, at the "
                    "data README's assumed spacing) per structure, ED and ES apart, failures (empty predictions), "
                    "seconds per volume and the quality flag's precision. Few-shot checkpoints (--checkpoints) "
                    "named <configuration>-d<draw> are grouped into mean +- sd over their draws. Skipped with a "
                    "message when the data is absent.")
    parser.add_argument("--data", type=Path, help=f"data folder with acdc-sample/ and acdc-train/ {DATA_HELP}")
    parser.add_argument("--models", default="kaf-unet,unet",
                        help="shipped models to evaluate, those installed of: %(default)s")
    parser.add_argument("--checkpoints", type=Path, metavar="FOLDER",
                        help="also every exported model (card + weights) in FOLDER, e.g. the few-shot runs")
    parser.add_argument("--patients", type=int, default=13, help="first N validation patients (default all 13)")
    parser.add_argument("--calibrate", type=int, metavar="N",
                        help="instead: the first N training patients (never the validation ones), and the quality "
                             "flag's precision and recall there under a grid of its thresholds")
    parser.add_argument("--json", type=Path, help="write the summaries and every frame's scores as JSON")
    parser.add_argument("--plot", type=Path, help="write Dice per structure and model as PNG")
    parser.add_argument("--card", type=Path, metavar="MODEL_JSON",
                        help="record that model's summary in its card's metrics, with this command")
    return parser


def run(args) -> int:
    from KeypointCLI.outputs import check_output, write_json
    from KeypointEngineLib.errors import InputError

    check_output(args.json, (".json",), "JSON figures")
    check_output(args.plot, (".png",), "plot")
    if args.card is not None and not args.card.is_file():
        raise InputError(f"The model card {args.card} does not exist; give the .json beside the weights.")
    if args.patients < 1:
        raise InputError(f"--patients must be 1 or more, not {args.patients}.")
    frames = (_training_frames(data_folder(args.data), args.calibrate) if args.calibrate
              else _validation_frames(data_folder(args.data), args.patients))
    if not frames:
        print(f"bench segment: skipped: no ACDC validation frames under {data_folder(args.data)} (acdc-sample/, "
              "acdc-train/); give --data.")
        return 0
    from KeypointEvaluationLib.cardiac.benchmark import evaluate, over_draws, summarise

    segmenters = _segmenters(args.models, args.checkpoints)
    if not segmenters:
        raise InputError("No model to evaluate: none of --models is installed and --checkpoints gave none.")
    group = "training patients (calibration)" if args.calibrate else "validation patients"
    print(f"KeypointSeg benchmark: {len(frames)} frames of {len({f.patient for f in frames})} {group}; "
          f"models: {', '.join(segmenters)}.")
    summaries, scores = {}, {}
    for name, segmenter in segmenters.items():
        scores[name] = evaluate(segmenter, frames)
        summaries[name] = summarise(scores[name])
        _print_summary(name, summaries[name])
    if args.calibrate:
        from KeypointEvaluationLib.cardiac.benchmark import calibration

        for name in summaries:
            print(f"{name}: quality flag on {len(frames)} training frames (right = mean Dice >= 0.8: "
                  f"{sum(s.mean_dice >= 0.8 for s in scores[name])})")
            for row in calibration(scores[name]):
                print(f"  kept >= {row['kept_fraction']:.1f}, ringed >= {row['ringed']:.1f}: {row['flagged']} "
                      f"flagged ok, precision {_figure(row['precision'])}, recall {_figure(row['recall'])}")
    groups = _few_shot_groups(summaries)
    for configuration, members in groups.items():
        figures = over_draws([summaries[member] for member in members])
        print(f"{configuration}: mean Dice {figures['mean_dice']:.3f} +- {figures['sd']:.3f} over "
              f"{figures['draws']} draws")
    for line in _targets(summaries, groups):
        print(line)
    print("Paper (KAF, ACDC Table 1; other data split, for reference): " + "; ".join(
        f"{method} M=2 {values[2]:.3f}, M=6 {values[6]:.3f}" for method, values in PAPER.items()))
    report = {"summaries": summaries, "few_shot": {c: over_draws([summaries[m] for m in ms])
                                                   for c, ms in groups.items()},
              "frames": {name: [s.to_dict() for s in items] for name, items in scores.items()}, "paper": PAPER}
    if args.json:
        write_json(args.json, report)
    if args.plot:
        _plot(summaries, args.plot)
    if args.card:
        import json

        name = json.loads(args.card.read_text())["name"]
        if name not in summaries:
            raise InputError(f"{args.card} is the card of {name!r}, which this run did not evaluate.")
        record_in_card(args.card, "segment_benchmark", summaries[name])
    return 0


def _validation_frames(data: Path, count: int):
    from KeypointEvaluationLib.cardiac.datasets import h5_frames
    from KeypointEvaluationLib.cardiac.splits import VALIDATION_PATIENTS

    chosen = set(VALIDATION_PATIENTS[:count])
    return [frame for folder in ("acdc-sample", "acdc-train") for frame in h5_frames(data / folder)
            if frame.patient in chosen]


def _figure(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _training_frames(data: Path, count: int):
    from KeypointEvaluationLib.cardiac.datasets import h5_frames
    from KeypointEvaluationLib.cardiac.splits import VALIDATION_PATIENTS

    frames = [frame for folder in ("acdc-sample", "acdc-train") for frame in h5_frames(data / folder)
              if frame.patient not in VALIDATION_PATIENTS]
    chosen = sorted({frame.patient for frame in frames})[:count]
    return [frame for frame in frames if frame.patient in chosen]


def _segmenters(models: str, checkpoints: Path | None) -> dict:
    from KeypointEngineLib.cardiac.inference import CardiacSegmenter
    from KeypointEngineLib.registry import ModelRegistry, default_registry

    installed = {card.name for card in default_registry().cards()}
    segmenters = {name: CardiacSegmenter(name) for name in (n.strip() for n in models.split(",")) if name in installed}
    if checkpoints is not None:
        registry = ModelRegistry(checkpoints)
        for card in registry.cards():
            segmenters[card.name] = CardiacSegmenter(card.name, registry=registry)
            print(f"{card.name}: {card.recipe_command}")
    return segmenters


def _targets(summaries: dict, groups: dict[str, list[str]]) -> list[str]:
    """Issue 16's targets, each with the figures it is judged on and whether it is met in this run."""
    from KeypointEvaluationLib.cardiac.benchmark import over_draws

    lines = []
    if "kaf-unet" in summaries:
        dice = summaries["kaf-unet"]["all"]["mean_dice"]
        lines.append(f"Target: shipped KAF-UNet mean Dice >= 0.90: {dice:.3f} ({'met' if dice >= 0.90 else 'NOT met'})")
    if {"kaf-unet", "unet"} <= set(summaries):
        kaf, plain = (summaries[name]["seconds_per_volume"] for name in ("kaf-unet", "unet"))
        lines.append(f"Target: KAF-UNet inference <= 1.5x the plain UNet's: {kaf:.2f} s vs {plain:.2f} s per volume, "
                     f"{kaf / plain:.2f}x ({'met' if kaf <= 1.5 * plain else 'NOT met'})")
    for m in (2, 6):
        names = {key: f"{key}-m{m}" for key in ("kaf-pretrained", "unet-random", "kaf-random", "unet-pretrained")}
        found = {key: over_draws([summaries[n] for n in groups[name]]) for key, name in names.items() if name in groups}
        if {"kaf-pretrained", "unet-random"} <= set(found):
            kaf, plain = found["kaf-pretrained"], found["unet-random"]
            met = kaf["mean_dice"] - plain["mean_dice"] > max(kaf["sd"], plain["sd"])
            lines.append(f"Target: M={m}, KAF pretrained beats the plain UNet by more than one sd: "
                         f"{kaf['mean_dice']:.3f} +- {kaf['sd']:.3f} vs {plain['mean_dice']:.3f} +- {plain['sd']:.3f} "
                         f"({'met' if met else 'NOT met'})")
    return lines


def _few_shot_groups(summaries: dict) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for name in summaries:
        match = re.fullmatch(r"(.+)-d\d+", name)
        if match:
            groups.setdefault(match[1], []).append(name)
    return groups


def _print_summary(name: str, summary: dict) -> None:
    for phase in ("ED", "ES", "all"):
        part = summary[phase]
        cells = ", ".join(f"{structure} {figures['dice']:.3f}"
                          + (f"/{figures['hd95_mm']:.1f} mm" if figures["hd95_mm"] is not None else "")
                          + (f" ({figures['failures']} failed)" if figures["failures"] else "")
                          for structure, figures in part.items() if isinstance(figures, dict))
        print(f"{name} {phase}: mean Dice {part['mean_dice']:.3f}; Dice/HD95: {cells}")
    precision = summary["quality_precision"]
    print(f"{name}: {summary['seconds_per_volume']:.2f} s per volume; quality flag precision "
          f"{'n/a' if precision is None else f'{precision:.2f}'} over {summary['frames']} frames")


def _plot(summaries: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from KeypointCLI.outputs import atomic_output
    from KeypointEngineLib.cardiac.measurements import STRUCTURES

    names, structures = list(summaries), list(STRUCTURES.values())
    figure, axes = plt.subplots(figsize=(max(6, 1.6 * len(names)), 4))
    width = 0.8 / len(structures)
    for index, structure in enumerate(structures):
        axes.bar(np.arange(len(names)) + index * width, [summaries[n]["all"][structure]["dice"] for n in names],
                 width, label=structure)
    axes.set_xticks(np.arange(len(names)) + width, names, rotation=20, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("3D Dice (ED and ES)")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=120)
    plt.close(figure)
