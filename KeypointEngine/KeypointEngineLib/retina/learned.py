"""The learned feature backend: RetinaKeypointNet weights shipped with the extension, loaded through the registry."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from KeypointEngineLib.device import choose_device
from KeypointEngineLib.features import Features
from KeypointEngineLib.registry import ModelRegistry, default_registry
from KeypointEngineLib.retina.network import NetworkConfig, RetinaKeypointNet, heatmap_peaks, sample_at

DEFAULT_MODEL = "retina-keypoints"


class LearnedExtractor:
    """`extract(image, mask) -> Features` with the trained network, on the GPU when there is one."""

    name = "learned"

    def __init__(self, model: str = DEFAULT_MODEL, device: str | None = None, max_keypoints: int = 3000,
                 registry: ModelRegistry | None = None):
        self.device = choose_device(device).device
        state, self.card = (registry or default_registry()).load_state_dict(model, self.device)
        config = NetworkConfig.from_dict({**self.card.extra["network"], "vessel_branch": False})  # training only
        self.network = RetinaKeypointNet(config)
        self.network.load_state_dict({k: v for k, v in state.items() if not k.startswith("vessels.")})
        self.network.to(self.device).eval()
        self.max_keypoints = max_keypoints

    @torch.inference_mode()
    def extract(self, image: np.ndarray, mask: np.ndarray | None = None) -> Features:
        rows, cols = image.shape[:2]
        if mask is None:
            mask = np.full((rows, cols), 255, np.uint8)
        # keep away from the bright rim of the field of view, which moves with the camera
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15)))
        pad_rows, pad_cols = -rows % 8, -cols % 8  # the network halves the size three times
        tensor = torch.from_numpy(np.pad(image, ((0, pad_rows), (0, pad_cols)))).float().div(255)[None, None]
        valid = torch.from_numpy(np.pad(mask > 0, ((0, pad_rows), (0, pad_cols)))).float()[None, None]
        output = self.network(tensor.to(self.device), valid=valid.to(self.device))
        score = (output["repeatability"] * output["reliability"]).cpu()
        points = heatmap_peaks(output["repeatability"].cpu(), self.max_keypoints, radius=3, mask=valid)[0]
        keep = score[0, 0, points[:, 1].long(), points[:, 0].long()] > 0
        points = points[keep]
        scores = score[0, 0, points[:, 1].long(), points[:, 0].long()]
        descriptors = F.normalize(sample_at(output["descriptors"].cpu(), points[None], 4)[0], dim=-1)
        return Features(points.numpy().astype(np.float32), scores.numpy().astype(np.float32),
                        descriptors.numpy().astype(np.float32))
