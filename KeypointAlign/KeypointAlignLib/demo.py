"""KeypointAlign's part of `slicer-keypoints demo`: register a sample pair with a known motion, made from a real
photograph, into the demo scene; checkerboard previews and the report beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def side_by_side(left: np.ndarray, right: np.ndarray, height: int = 480) -> np.ndarray:
    """Two same-size RGB images next to each other, each scaled to `height` px."""
    import cv2

    width = round(left.shape[1] * height / left.shape[0])
    return np.hstack([cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA) for image in (left, right)])


def run_demo(scene, output: Path, seed: int = 0) -> int:
    """Register the sample pair into `scene`; write previews and the report under `output`. 0, or 1 on failure."""
    from KeypointAlignLib.logic import KeypointAlignLogic
    from KeypointAlignLib.samples import add_sample_pair
    from KeypointCLI.outputs import write_json
    from KeypointCLI.previews import write_image
    from KeypointEngineLib.retina.resampling import checkerboard, warp_moving_to_fixed

    fixed, moving, pair = add_sample_pair(scene, seed)
    result = KeypointAlignLogic().register(fixed, moving, model="auto")
    print(f"KeypointAlign: {result.report.summary()}")
    if not result.report.success:
        return 1
    moving.SetAndObserveTransformNodeID(result.transformNode.GetID())  # as the GUI shows it: moving aligned
    error = pair.mean_error_px(result.registration.model)
    print(f"Mean error against the known warp: {error:.2f} px")

    previews = output / "previews"
    warped = warp_moving_to_fixed(pair.moving, result.registration.model, pair.fixed.shape)
    before, after = checkerboard(pair.fixed, pair.moving), checkerboard(pair.fixed, warped)
    write_image(previews / "checkerboard_before.png", before)
    write_image(previews / "checkerboard_after.png", after)
    write_image(previews / "KeypointAlign.jpg", side_by_side(before, after))  # the README's screenshot
    write_json(output / "align-report.json", {**result.report.to_dict(), "mean_error_px": error})
    print(f"Previews: {previews}/checkerboard_before.png, checkerboard_after.png, KeypointAlign.jpg")
    return 0
