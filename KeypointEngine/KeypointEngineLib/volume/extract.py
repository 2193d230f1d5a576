"""SP3D keypoints of a CT or MRI volume, in RAS mm: working grid -> SP3DNet in tiles (bounded memory at any size)
-> real heatmap peaks after non-maximum suppression in mm, inside the body (or a user's mask) -> descriptors sampled
at the peaks."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from KeypointEngineLib.blocks.peaks import find_peaks
from KeypointEngineLib.blocks.sampling import sample_at
from KeypointEngineLib.device import DeviceChoice, choose_device
from KeypointEngineLib.features import Features
from KeypointEngineLib.geometry import ras_from_ijk
from KeypointEngineLib.jobs import Job, as_job
from KeypointEngineLib.registry import ModelRegistry, default_registry
from KeypointEngineLib.tiling import tiled_inference
from KeypointEngineLib.volume.network import CELL, SP3DConfig, SP3DNet
from KeypointEngineLib.volume.parameters import DetectionOptions
from KeypointEngineLib.volume.preprocess import to_working_grid

DEFAULT_MODEL = "sp3d"
WINDOW_VOXELS = 96  # per axis, on the working grid: 19 cm at 2 mm, about 0.3 GB of activations on the CPU


class SP3DExtractor:
    """`extract(array, ijk_to_ras, ...) -> Features` with keypoints in RAS mm, strongest first."""

    name = "sp3d"

    def __init__(self, model: str = DEFAULT_MODEL, device: str | DeviceChoice | None = None,
                 registry: ModelRegistry | None = None, network: SP3DNet | None = None):
        self.device = device if isinstance(device, DeviceChoice) else choose_device(device)
        if network is None:  # the shipped weights; a given network (e.g. in training) is used as it is
            state, self.card = (registry or default_registry()).load_state_dict(model, self.device.device)
            network = SP3DNet(SP3DConfig.from_dict(self.card.extra["network"]))
            network.load_state_dict(state)
        self.network = network.to(self.device.device).eval()

    @torch.inference_mode()
    def extract(self, array: np.ndarray, ijk_to_ras: np.ndarray, options: DetectionOptions | None = None,
                mask: np.ndarray | None = None, job: Job | None = None) -> Features:
        """Keypoints of the volume `array` [k, j, i] placed by `ijk_to_ras`, as (N, 3) RAS mm with scores and unit
        descriptors. `mask` [k, j, i] on the same grid limits where keypoints may be."""
        job = as_job(job)
        options = (options or DetectionOptions()).check()
        job.report("Resampling", 0.0)
        working = to_working_grid(array, ijk_to_ras, options.spacing_mm, mask, options.border_mm)
        volume = torch.from_numpy(working.array)[None, None]

        def predict(window: torch.Tensor):
            output = self.network(window.to(self.device.device))
            return output["heatmap"], output["descriptors"]

        window = tuple(min(WINDOW_VOXELS, size) for size in working.array.shape)
        heatmap, descriptors = tiled_inference(predict, volume, window, overlap=0.25, device=self.device.device,
                                               job=job.scaled(0.05, 0.95), stage="Detecting keypoints")
        radius = max(int(np.ceil(options.nms_mm / options.spacing_mm)), 1)
        points, scores = find_peaks(heatmap[0, 0].numpy(), radius, options.threshold, options.max_keypoints,
                                    working.mask)
        job.report("Describing keypoints", 0.95)
        sampled = sample_at(descriptors.float(), torch.from_numpy(points)[None], CELL)[0]
        descriptors_at = F.normalize(sampled, dim=-1).numpy().astype(np.float32)
        job.report("Describing keypoints", 1.0)
        return Features(ras_from_ijk(points, working.ijk_to_ras), scores.astype(np.float32), descriptors_at)
