"""The learned feature backend: RetinaKeypointNet weights shipped with the extension, loaded through the registry."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from KeypointEngineLib.blocks.peaks import find_peaks, window_max
from KeypointEngineLib.blocks.sampling import sample_at
from KeypointEngineLib.device import DeviceChoice, choose_device
from KeypointEngineLib.features import Features
from KeypointEngineLib.registry import ModelRegistry, default_registry
from KeypointEngineLib.retina.network import NetworkConfig, RetinaKeypointNet

DEFAULT_MODEL = "retina-keypoints"
# Detection score off the vessels, relative to on them: the vessel tree is what every modality shows (background
# texture changes completely from colour fundus to angiography), yet an image whose vessels the branch misses must
# still get keypoints.
OFF_VESSEL_WEIGHT = 0.05
VESSEL_REACH_PX = 2  # keypoints on a vessel's edge or at a junction just beside the segmented centre still count
# working px kept clear inside the field of view: the network sees far enough to match the rims themselves, which
# move with the camera, not the retina (half the margin failed low-overlap pairs by matching rim to rim)
RIM_MARGIN_PX = 15


class LearnedExtractor:
    """`extract(image, mask) -> Features` with the trained network, on the GPU when there is one.

    With `vessel_prior` (and a model that has the vessel branch), keypoints are the peaks of repeatability weighted
    by the vessel map; without it, of repeatability alone. Keypoints come strongest first.
    """

    name = "learned"

    def __init__(self, model: str = DEFAULT_MODEL, device: str | DeviceChoice | None = None,
                 max_keypoints: int = 3000, registry: ModelRegistry | None = None, vessel_prior: bool = True):
        self.device = device if isinstance(device, DeviceChoice) else choose_device(device)
        state, self.card = (registry or default_registry()).load_state_dict(model, self.device.device)
        network = self.card.extra["network"]
        self.vessel_prior = vessel_prior and network.get("vessel_branch", False)
        self.network = RetinaKeypointNet(NetworkConfig.from_dict({**network, "vessel_branch": self.vessel_prior}))
        if not self.vessel_prior:
            state = {key: value for key, value in state.items() if not key.startswith("vessels.")}
        self.network.load_state_dict(state)
        self.network.to(self.device.device).eval()
        self.max_keypoints = max_keypoints

    @torch.inference_mode()
    def extract(self, image: np.ndarray, mask: np.ndarray | None = None) -> Features:
        rows, cols = image.shape[:2]
        if mask is None:
            mask = np.full((rows, cols), 255, np.uint8)
        # keep away from the rim of the field of view: it stays with the camera, not the retina
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RIM_MARGIN_PX + 1,) * 2))
        pad_rows, pad_cols = -rows % 8, -cols % 8  # the network halves the size three times
        tensor = torch.from_numpy(np.pad(image, ((0, pad_rows), (0, pad_cols)))).float().div(255)[None, None]
        valid = torch.from_numpy(np.pad(mask > 0, ((0, pad_rows), (0, pad_cols)))).float()[None, None]
        output = self.network(tensor.to(self.device.device), valid=valid.to(self.device.device))
        score = (output["repeatability"] * output["reliability"]).cpu()
        detection = output["repeatability"].cpu()
        if self.vessel_prior:
            near_vessel = window_max(torch.sigmoid(output["vessels"]).cpu(), VESSEL_REACH_PX)
            detection = detection * (OFF_VESSEL_WEIGHT + near_vessel)
        # only real peaks inside the field of view, however few: a small aperture may hold fewer than asked for
        points, _ = find_peaks(detection[0, 0].numpy(), radius=3, max_count=self.max_keypoints,
                               mask=valid[0, 0].numpy() > 0)
        index = points.astype(int)
        scores = score[0, 0].numpy()[index[:, 1], index[:, 0]]
        descriptors = F.normalize(sample_at(output["descriptors"].cpu(), torch.from_numpy(points)[None], 4)[0], dim=-1)
        return Features(points, scores.astype(np.float32), descriptors.numpy().astype(np.float32))
