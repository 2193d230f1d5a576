"""`slicer-keypoints bench align-cancel`: how soon a registration stops after Cancel, as the GUI runs it (work on a
worker thread, KeypointEngineLib.jobs.BackgroundRun), and that a cancelled run adds nothing to the scene."""

from __future__ import annotations

import time

from KeypointEngineLib.errors import InputError
from KeypointEngineLib.retina.parameters import FEATURE_BACKENDS


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "align-cancel", help="measure KeypointAlign's cancel latency (seconds from Cancel to the work stopping)",
        description="Register the demo's sample pair in the background as the GUI does, press Cancel at random "
                    "moments of the run, and print the seconds from Cancel to the work stopping (median, 90th "
                    "percentile, maximum) beside the time of a whole run, and whether every cancelled run left the "
                    "scene's node count unchanged.")
    parser.add_argument("--runs", type=int, default=20, help="cancelled runs (default 20)")
    parser.add_argument("--features", choices=FEATURE_BACKENDS, default="learned",
                        help="keypoint backend (default learned: its steps are the longest)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cancel moments and the sample pair")
    return parser


def run(args) -> int:
    import numpy as np

    from KeypointAlignLib.logic import KeypointAlignLogic
    from KeypointAlignLib.samples import add_sample_pair
    from KeypointEngineLib.jobs import BackgroundRun, JobCancelled
    from KeypointMRMLLib.scene import make_scene

    if args.runs < 1:
        raise InputError("--runs must be at least 1.")
    scene = make_scene()
    fixed, moving, _ = add_sample_pair(scene, args.seed)
    logic = KeypointAlignLogic()

    def task():
        return logic.registrationTask(fixed, moving, features=args.features)

    BackgroundRun(task()).wait()  # warm: models loaded, as in a GUI session after the first Apply
    start = time.perf_counter()
    whole = BackgroundRun(task())
    whole.wait()
    whole_seconds = time.perf_counter() - start
    whole.poll()
    nodes = scene.GetNumberOfNodes()
    rng, latencies, unchanged = np.random.default_rng(args.seed), [], True
    for _ in range(args.runs):
        background = BackgroundRun(task())
        time.sleep(rng.uniform(0, whole_seconds))
        cancelled = time.perf_counter()
        background.cancel()
        background.wait()
        latencies.append(time.perf_counter() - cancelled)
        background.poll()
        try:
            background.result()
        except JobCancelled:
            pass
        unchanged &= scene.GetNumberOfNodes() == nodes
    latencies = np.array(latencies)
    print(f"KeypointAlign cancel latency over {args.runs} runs ({args.features} keypoints, warm): median "
          f"{np.median(latencies):.3f} s, 90th percentile {np.percentile(latencies, 90):.3f} s, max "
          f"{latencies.max():.3f} s; a whole run takes {whole_seconds:.2f} s (max latency = "
          f"{latencies.max() / whole_seconds:.0%} of it).")
    print(f"Node count unchanged after every cancelled run: {'yes' if unchanged else 'NO'}")
    return 0 if unchanged else 1
