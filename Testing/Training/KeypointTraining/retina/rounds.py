"""Retinal IPA's iterative rounds: the previous round's detections, after non-maximum suppression, become Gaussian
heatmap labels (joined with the vessel-junction labels) for the next round."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from KeypointEngineLib.blocks.peaks import heatmap_peaks
from KeypointEngineLib.retina.network import NetworkConfig, RetinaKeypointNet
from KeypointEngineLib.retina.preprocess import enhance, to_gray
from KeypointTraining.retina.data import RetinaImage
from KeypointTraining.retina.labels import gaussian_heatmap

DETECTIONS_PER_IMAGE = 400


@torch.inference_mode()
def detections(model: RetinaKeypointNet, image: RetinaImage, count: int = DETECTIONS_PER_IMAGE) -> np.ndarray:
    """(count, 2) strongest repeatability peaks (x, y) of the colour view inside the field of view."""
    gray = enhance(to_gray(image.rgb), image.fov)
    rows, cols = gray.shape
    pad = ((0, -rows % 8), (0, -cols % 8))
    tensor = torch.from_numpy(np.pad(gray, pad)).float().div(255)[None, None]
    valid = torch.from_numpy(np.pad(image.fov, pad)).float()[None, None]
    output = model(tensor, valid=valid)
    return heatmap_peaks(output["repeatability"] * output["reliability"], count, radius=4, mask=valid)[0].numpy()


def add_detections_to_labels(images: list[RetinaImage], weights: Path) -> None:
    """Replace each image's label heatmap by the union of its current labels and the model's detections."""
    state = torch.load(weights, map_location="cpu", weights_only=True)
    has_vessels = any(key.startswith("vessels.") for key in state)
    has_attention = any(key.startswith("attention.") for key in state)
    model = RetinaKeypointNet(NetworkConfig(keypoint_attention=has_attention, vessel_branch=has_vessels))
    model.load_state_dict(state)
    model.eval()
    for image in images:
        found = gaussian_heatmap(detections(model, image), image.keypoints.shape)
        image.keypoints = np.maximum(image.keypoints, found)
