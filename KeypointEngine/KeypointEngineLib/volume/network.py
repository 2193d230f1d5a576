"""SP3DNet: joint 3D keypoint detector and descriptor (SP3D, paper 004; SuperPoint's design in 3D).

A VGG-style encoder of eight 3x3x3 convolutions reduces each axis 8x. The detector head gives 8³ + 1 = 513 channels
per cell, the last a "dustbin" (no keypoint in this cell); after a softmax the dustbin is dropped and MONAI's 3D
pixel shuffle spreads the other 512 over the cell's voxels, a full-resolution heatmap. The descriptor head gives
dense L2-normalised descriptors per cell, sampled trilinearly at keypoints.

Cell layout: channel c of a cell is voxel (c // 64, (c // 8) % 8, c % 8) = (dz, dy, dx) inside it, the order of
monai.networks.utils.pixelshuffle, whose inverse (pixelunshuffle) makes the training labels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from monai.networks.blocks import Convolution
from monai.networks.utils import pixelshuffle
from torch import nn

CELL = 8  # voxels per cell along each axis: the encoder's reduction


@dataclass
class SP3DConfig:
    widths: tuple[int, int, int, int] = (16, 32, 64, 96)  # two convolutions at each of the four scales
    descriptor_dim: int = 64

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SP3DConfig:
        data = dict(data)
        data["widths"] = tuple(data.get("widths", cls.widths))
        return cls(**data)


def _convolution(in_channels: int, out_channels: int, kernel_size: int = 3, act: bool = True) -> nn.Module:
    if not act:
        return nn.Conv3d(in_channels, out_channels, kernel_size)
    return Convolution(3, in_channels, out_channels, kernel_size=kernel_size, act="RELU", norm="BATCH")


class SP3DNet(nn.Module):
    def __init__(self, config: SP3DConfig | None = None):
        super().__init__()
        self.config = config = config or SP3DConfig()
        layers, channels = [], 1
        for scale, width in enumerate(config.widths):
            layers += [_convolution(channels, width), _convolution(width, width)]
            if scale < len(config.widths) - 1:
                layers.append(nn.MaxPool3d(2))
            channels = width
        self.encoder = nn.Sequential(*layers)
        self.detector = nn.Sequential(_convolution(channels, channels), _convolution(channels, CELL ** 3 + 1, 1,
                                                                                      act=False))
        self.descriptor = nn.Sequential(_convolution(channels, channels),
                                        _convolution(channels, config.descriptor_dim, 1, act=False))

    def forward(self, volume: torch.Tensor) -> dict[str, torch.Tensor]:
        """volume (B, 1, D, H, W), each size a multiple of 8, intensities normalised (see preprocess.py).

        Returns logits (B, 513, D/8, H/8, W/8), heatmap (B, 1, D, H, W) in [0, 1], and descriptors
        (B, dim, D/8, H/8, W/8) of unit norm.
        """
        features = self.encoder(volume)
        logits = self.detector(features)
        heatmap = pixelshuffle(F.softmax(logits, dim=1)[:, :-1], spatial_dims=3, scale_factor=CELL)
        descriptors = F.normalize(self.descriptor(features), dim=1)
        return {"logits": logits, "heatmap": heatmap, "descriptors": descriptors}
