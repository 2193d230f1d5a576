"""Real CT and MRI volumes for SP3D's second stage, on the working grid, with pseudo-labels, and the pairs made from
them: crops of a volume and of its label heatmap, view B under a real-scan-like motion (random_warp) with another
contrast, bias field, noise, thicker slices and a partial field of view."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from monai.transforms import RandAdjustContrast, RandBiasField, RandGaussianNoise
from scipy import ndimage

from KeypointEngineLib.volume.preprocess import WorkingVolume, to_working_grid
from KeypointEvaluationLib.volume.cases import read_volume
from KeypointTraining.sp3d.adaptation import pseudo_keypoints
from KeypointTraining.sp3d.labels import cell_centres, cell_classes
from KeypointTraining.sp3d.warps import cut_field_of_view, random_warp, sample


def volume_paths(data: Path) -> list[Path]:
    """Every real volume of the data folder (volumes/ and volumes-more/), and nilearn's MNI T1 template if present."""
    paths = sorted((data / "volumes").glob("*.nii.gz")) + sorted((data / "volumes-more").glob("*.nii.gz"))
    try:
        import nilearn.datasets
        from nilearn.datasets import load_mni152_template  # noqa: F401 (only to find its files)

        template = Path(nilearn.datasets.__file__).parent / "data" / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
        if template.is_file():
            paths.append(template)
    except ImportError:
        pass
    return paths


def load_working(path: Path, spacing_mm: float = 2.0) -> WorkingVolume:
    volume = read_volume(path)
    return to_working_grid(volume.array, volume.ijk_to_ras, spacing_mm, border_mm=2.0)


@dataclass
class LabelledVolume:
    name: str
    working: WorkingVolume
    heatmap: np.ndarray  # [D, H, W] aggregated detector heatmap (adaptation.py) on the working grid


def _crop(volume: LabelledVolume, size: int, rng: np.random.Generator):
    """A size³ crop (zero-padded where the volume is smaller) centred on a random voxel of the body mask."""
    arrays = [volume.working.array, volume.heatmap, volume.working.mask.astype(np.float32)]
    pad = [(max(size - n, 0) // 2 + 1, max(size - n, 0) // 2 + 1) for n in volume.working.array.shape]
    arrays = [np.pad(array, pad) for array in arrays]
    candidates = np.argwhere(arrays[2] > 0)
    centre = candidates[rng.integers(len(candidates))] if len(candidates) else np.array(arrays[0].shape) // 2
    start = np.clip(centre - size // 2, 0, np.array(arrays[0].shape) - size)
    window = tuple(slice(s, s + size) for s in start)
    return [array[window] for array in arrays]


class VolumePairs(torch.utils.data.Dataset):
    """Training pairs from labelled real volumes; item i is the same for the same seed."""

    def __init__(self, volumes: list[LabelledVolume], length: int, seed: int, size: int = 64,
                 keypoints_per_crop: int = 64, max_rotation: float = 90.0, max_cut: float = 0.3):
        self.volumes, self.length, self.seed, self.size = volumes, length, seed, size
        self.keypoints, self.max_rotation, self.max_cut = keypoints_per_crop, max_rotation, max_cut
        self.intensity = [RandBiasField(prob=0.7, coeff_range=(0.0, 0.3)),
                          RandAdjustContrast(prob=0.8, gamma=(0.6, 1.6)), RandGaussianNoise(prob=0.7, std=0.04)]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        volume = self.volumes[int(rng.integers(len(self.volumes)))]
        image_a, heat_a, mask_a = _crop(volume, self.size, rng)
        shape = image_a.shape
        positions = random_warp(rng, shape, self.max_rotation)
        stacked = torch.from_numpy(np.stack([image_a, heat_a, mask_a]))
        image_b, heat_b, mask_b = sample(stacked, positions).numpy()
        seen = np.all((positions >= 0) & (positions <= np.array(shape[::-1]) - 1), axis=-1)
        seen &= cut_field_of_view(rng, shape, rng.uniform(0, self.max_cut))
        image_b = np.where(seen, image_b, 0.0)
        if rng.random() < 0.3:  # thicker slices along one axis, as a coarser scan
            axis = int(rng.integers(3))
            sigma = [0.0] * 3
            sigma[axis] = rng.uniform(1.0, 2.5)
            image_b = ndimage.gaussian_filter(image_b, sigma)
        for transform in self.intensity:
            transform.set_random_state(int(rng.integers(1 << 31)))
            image_b = np.asarray(transform(image_b[None]))[0]
        mask_b = (mask_b > 0.5) & seen
        points_a = pseudo_keypoints(heat_a, mask_a > 0.5, self.keypoints)
        points_b = pseudo_keypoints(heat_b, mask_b, self.keypoints)
        centres = cell_centres(shape).numpy()
        centre_positions = sample(torch.from_numpy(np.moveaxis(positions, -1, 0)),
                                  centres.reshape(1, 1, -1, 3).astype(np.float32))  # (3, 1, 1, M)
        centres_b_in_a = centre_positions[:, 0, 0].T.numpy()
        cell_seen = sample(torch.from_numpy(mask_b[None].astype(np.float32)),
                           centres.reshape(1, 1, -1, 3).astype(np.float32))[0, 0, 0].numpy() > 0.5
        generator = torch.Generator().manual_seed(int(rng.integers(1 << 31)))
        return {
            "volume_a": torch.from_numpy(image_a.astype(np.float32))[None],
            "volume_b": torch.from_numpy(np.clip(image_b, 0, None).astype(np.float32))[None],
            "classes_a": cell_classes(torch.from_numpy(points_a), shape, generator),
            "classes_b": cell_classes(torch.from_numpy(points_b), shape, generator),
            "centres_b_in_a": torch.from_numpy(centres_b_in_a.astype(np.float32)),
            "valid_b": torch.from_numpy(cell_seen.astype(np.float32)),
        }

