"""`slicer-keypoints bench MODULE`: the benchmarks that print each module's figures (accuracy and speed), each
contributed by its module's plugin."""

from __future__ import annotations

from KeypointCLI.plugins import contributions


def add_parser(subparsers):
    parser = subparsers.add_parser("bench", help="run a module's benchmark and print its figures",
                                   description="Benchmarks that print accuracy and speed figures, all methods in one "
                                               "run so ratios compare like with like.")
    targets = parser.add_subparsers(dest="target", required=True, metavar="MODULE")
    for module in contributions("BENCHMARKS"):
        module.add_parser(targets).set_defaults(bench=module.run)
    return parser


def run(args) -> int:
    return args.bench(args)
