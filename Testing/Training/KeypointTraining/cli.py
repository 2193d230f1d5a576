"""`slicer-keypoints train`: train a model with the shared runner, then export weights plus model card.

Registered by the CLI core only where this training backend is importable (a source checkout), never from a wheel."""

from __future__ import annotations

from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a model with the headless training backend (Testing/Training)",
        description="Train RECIPE with the shared runner: fixed seeds, checkpoints every N steps, --resume, logged "
                    "losses and metrics, an evaluation hook and the export of weights plus model card. Scales to "
                    "several GPUs or machines when started with torchrun.")
    parser.add_argument("recipe", help="model recipe to train (see --list)", nargs="?")
    parser.add_argument("--config", type=Path, help="JSON config (TrainConfig fields); defaults apply without one")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set epochs=3 --set recipe_options.size=192")
    parser.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/checkpoint.pt")
    parser.add_argument("--export", metavar="FOLDER", type=Path,
                        help="write weights + model card here (default: OUTPUT_DIR/export)")
    parser.add_argument("--list", action="store_true", help="list the available recipes and exit")
    return parser


def run(args) -> int:
    from KeypointTraining.config import TrainConfig
    from KeypointTraining.recipes import available_recipes
    from KeypointTraining.runner import Runner

    if args.list or not args.recipe:
        print("Recipes: " + ", ".join(available_recipes()))
        return 0
    data = {"recipe": args.recipe}
    if args.config:
        import json

        data = {**json.loads(args.config.read_text()), **data}
    config = TrainConfig.from_dict(data, args.overrides)
    runner = Runner(config)
    if args.resume and runner.resume():
        print(f"Resumed at step {runner.step} (epoch {runner.epoch}).")
    result = runner.train()
    card = runner.export(config.export_name, result.metrics, args.export)
    print(f"Trained {result.steps} steps; last loss {result.last_loss:.4f}; metrics {result.metrics}")
    if card is not None:
        print(f"Exported {card.weights_path} (sha256 {card.sha256}) with its model card.")
    return 0
