"""Training slices for KAF-UNet: cardiac frames on the inference path's working grid (1.25 mm in-plane, per-volume
normalisation: KeypointEngineLib.cardiac.preprocess), MONAI augmentation, a crop about the heart, and SIFT keypoints
of the augmented crop (what inference sees)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from monai.transforms import (
    Compose,
    Rand2DElasticd,
    RandAdjustContrastd,
    RandAffined,
    RandBiasFieldd,
    RandFlipd,
    RandGaussianNoised,
)

from KeypointEngineLib.cardiac.keypoints import TRAINING_CROP, padded_batch, sift_keypoints
from KeypointEngineLib.cardiac.preprocess import SPACING_MM, to_slices
from KeypointEvaluationLib.cardiac.datasets import CardiacFrame

CROP = TRAINING_CROP  # px at 1.25 mm: 16 cm, the heart and its surroundings


@dataclass
class WorkingFrame:
    patient: str
    phase: str
    images: np.ndarray  # (Z, H, W) 0..1 on the working grid
    labels: np.ndarray | None  # (Z, H, W) uint8, or None (unlabelled, for pretraining)


def working_frame(frame: CardiacFrame, labelled: bool = True, spacing_mm: float = SPACING_MM) -> WorkingFrame:
    stack = to_slices(frame.image, frame.ijk_to_ras, spacing_mm)
    labels = None
    if labelled:
        slices = torch.from_numpy(np.ascontiguousarray(np.moveaxis(frame.labels, stack.axis, 0)))[:, None].float()
        # nearest-exact: pixel centres aligned as in the images' bilinear resampling ("nearest" shifts them)
        resized = F.interpolate(slices, size=stack.working_shape, mode="nearest-exact")[:, 0].numpy().astype(np.uint8)
        labels = np.zeros(stack.images.shape, np.uint8)
        labels[:, :resized.shape[1], :resized.shape[2]] = resized
    return WorkingFrame(frame.patient, frame.phase, stack.images, labels)


def augmentation() -> Compose:
    """Rotation (any angle: exports differ in orientation), scale +-15 % (the assumed spacing may be off), elastic,
    bias field, gamma, noise and flips; labels follow the geometry with nearest-neighbour sampling."""
    keys = ("image", "label")
    return Compose([
        RandFlipd(keys, prob=0.5, spatial_axis=0),
        RandAffined(keys, prob=0.9, rotate_range=np.pi, scale_range=0.15, mode=("bilinear", "nearest"),
                    padding_mode="zeros"),
        Rand2DElasticd(keys, spacing=32, magnitude_range=(1.0, 3.0), prob=0.3, mode=("bilinear", "nearest"),
                       padding_mode="zeros"),
        RandBiasFieldd("image", prob=0.5, coeff_range=(0.0, 0.3)),
        RandAdjustContrastd("image", prob=0.5, gamma=(0.7, 1.5)),
        RandGaussianNoised("image", prob=0.5, std=0.03),
    ])


def crop_about(image: np.ndarray, label: np.ndarray, rng: np.random.Generator, size: int = CROP,
               anywhere: float = 0.4):
    """A size² crop (zero-padded): with probability `anywhere` at a uniformly random place of the slice (inference
    sees whole slices, so the network must learn what is not heart too), otherwise centred near the labelled heart
    (or near the image centre without labels)."""
    pad = size // 2
    shape = np.array(image.shape)
    image, label = np.pad(image, pad), np.pad(label, pad)
    foreground = np.argwhere(label > 0)
    if rng.random() < anywhere or not len(foreground):
        centre = np.round(rng.uniform(0, 1, 2) * shape).astype(int) + pad
    else:
        centre = np.round(foreground.mean(axis=0) + rng.uniform(-size / 5, size / 5, 2)).astype(int)
    start = np.clip(centre - pad, 0, np.array(image.shape) - size)
    window = tuple(slice(s, s + size) for s in start)
    return image[window], label[window]


class SliceSamples(torch.utils.data.Dataset):
    """`length` augmented labelled slices drawn from `frames`; item i is the same for the same seed."""

    def __init__(self, frames: list[WorkingFrame], length: int, seed: int, keypoints: int = 128,
                 anywhere: float = 0.4):
        self.slices = [(frame, index) for frame in frames for index in range(len(frame.images))]
        if not self.slices:
            raise ValueError("No labelled slices to train on.")
        self.length, self.seed, self.keypoints, self.anywhere = length, seed, keypoints, anywhere
        self.transform = augmentation()

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, index])
        frame, slice_index = self.slices[int(rng.integers(len(self.slices)))]
        self.transform.set_random_state(int(rng.integers(1 << 31)))
        sample = self.transform({"image": frame.images[slice_index][None].copy(),
                                 "label": frame.labels[slice_index][None].astype(np.float32)})
        image = np.clip(np.asarray(sample["image"][0], np.float32), 0.0, 1.0)
        image, label = crop_about(image, np.asarray(sample["label"][0]).round().astype(np.int64), rng,
                                  anywhere=self.anywhere)
        return {"image": torch.from_numpy(np.ascontiguousarray(image))[None],
                "label": torch.from_numpy(np.ascontiguousarray(label)),
                "keypoints": sift_keypoints(image, self.keypoints)}


def collate(items: list[dict]) -> dict:
    """Stack images and labels; pad the keypoints of the batch to its largest count (never truncate)."""
    points, padding = padded_batch([item["keypoints"] for item in items])
    return {"image": torch.stack([item["image"] for item in items]),
            "label": torch.stack([item["label"] for item in items]), "points": points, "padding": padding}
