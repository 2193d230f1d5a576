"""Tiled (patch) inference so images larger than memory allows are processed in pieces.

A thin layer over MONAI's sliding-window inferer that adds the job API: progress per window and cancellation
between windows. Windows run on `device`; the stitched output is kept on `output_device` (usually the CPU), so a
large volume never has to fit on the GPU at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from monai.data.utils import dense_patch_slices
from monai.inferers import sliding_window_inference

from KeypointEngineLib.jobs import Job, as_job


def count_windows(spatial_shape: Sequence[int], window: Sequence[int], overlap: float) -> int:
    """How many windows MONAI's sliding window visits for this image and window size."""
    window = [min(w, s) for w, s in zip(window, spatial_shape, strict=True)]
    interval = [max(int(w * (1 - overlap)), 1) if w < s else s for w, s in zip(window, spatial_shape, strict=True)]
    return len(dense_patch_slices(tuple(spatial_shape), tuple(window), tuple(interval)))


def tiled_inference(
    predictor: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    window: Sequence[int],
    overlap: float = 0.25,
    batch_size: int = 1,
    device: torch.device | str | None = None,
    output_device: torch.device | str = "cpu",
    blend: str = "gaussian",
    job: Job | None = None,
    stage: str = "Inference",
) -> torch.Tensor:
    """Run `predictor` over `image` (N, C, *spatial) in overlapping windows and blend the results.

    `window` is in voxels/pixels per spatial axis; windows larger than the image are clipped to it.
    """
    job = as_job(job)
    spatial = image.shape[2:]
    if len(window) != len(spatial):
        raise ValueError(f"Window {tuple(window)} has {len(window)} axes but the image has {len(spatial)} "
                         "spatial axes.")
    total = max(count_windows(spatial, window, overlap) * image.shape[0] // batch_size, 1)
    done = 0

    def predict_with_progress(patch: torch.Tensor) -> torch.Tensor:
        nonlocal done
        job.report(stage, done / total)
        result = predictor(patch)
        done += 1
        return result

    job.report(stage, 0.0)
    output = sliding_window_inference(
        image,
        roi_size=tuple(window),
        sw_batch_size=batch_size,
        predictor=predict_with_progress,
        overlap=overlap,
        mode=blend,
        sw_device=device if device is not None else image.device,
        device=output_device,
    )
    job.report(stage, 1.0)
    return output
