"""RetinaKeypointNet: a joint keypoint detector and descriptor for retinal images (paper 002 + Retinal IPA).

Paper 002 uses R2D2's full-resolution dilated L2-Net: too slow on a laptop CPU. This network keeps its three outputs
— repeatability S and reliability R at full resolution, dense descriptors — on a U-Net-shaped encoder-decoder built
from MONAI blocks: the encoder downsamples to 1/8, descriptors come out at 1/4 resolution (bilinearly sampled at
keypoints), the detector decoder returns to full resolution through skip connections.

Retinal IPA additions, each switchable:
- keypoint attention (the shared block, blocks/keypoint_attention.py): encoder features sampled at detected keypoints
  go through an MLP and transformer self-attention, are written back at their positions and fused with the feature
  map before the descriptor decoder;
- vessel branch: a segmentation head on the full-resolution decoder features, prompted by the repeatability
  heatmap. Trained for segmentation consistency across views; at inference its map steers detection towards vessels,
  the structure every modality shows (see learned.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from monai.networks.blocks import Convolution
from torch import nn

from KeypointEngineLib.blocks.keypoint_attention import KeypointAttention
from KeypointEngineLib.blocks.peaks import heatmap_peaks


@dataclass
class NetworkConfig:
    widths: tuple[int, int, int, int] = (8, 16, 32, 64)
    descriptor_dim: int = 128
    keypoint_attention: bool = True
    attention_keypoints: int = 256  # keypoints sampled per image for the attention layer
    attention_heads: int = 4
    vessel_branch: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NetworkConfig:
        data = dict(data)
        data["widths"] = tuple(data.get("widths", cls.widths))
        return cls(**data)


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 convolutions (encoder)."""
    return nn.Sequential(
        Convolution(2, in_channels, out_channels, kernel_size=3, act="RELU", norm="BATCH"),
        Convolution(2, out_channels, out_channels, kernel_size=3, act="RELU", norm="BATCH"),
    )


def _merge(in_channels: int, out_channels: int) -> nn.Sequential:
    """A 1x1 convolution that merges upsampled and skip features, then a 3x3 one (decoder): a third of the cost of
    two 3x3 convolutions on the concatenation."""
    return nn.Sequential(
        Convolution(2, in_channels, out_channels, kernel_size=1, act="RELU", norm="BATCH"),
        Convolution(2, out_channels, out_channels, kernel_size=3, act="RELU", norm="BATCH"),
    )


class _FusedAttention(KeypointAttention):
    """The shared keypoint attention block with this network's fusion: written-back tokens concatenated with the
    feature map and merged by a 1x1 convolution."""

    def __init__(self, channels: int, heads: int, stride: int):
        super().__init__(channels, heads, stride)
        self.fuse = Convolution(2, 2 * channels, channels, kernel_size=1, act="RELU", norm="BATCH")

    def forward(self, features: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fused features (B, C, h, w) and the attended tokens (B, N, C) at `points` (B, N, 2) full-res px."""
        scattered, tokens = super().forward(features, points)
        return self.fuse(torch.cat([features, scattered], dim=1)), tokens


class RetinaKeypointNet(nn.Module):
    def __init__(self, config: NetworkConfig | None = None):
        super().__init__()
        self.config = config = config or NetworkConfig()
        w0, w1, w2, w3 = config.widths
        self.enc0, self.enc1, self.enc2, self.enc3 = _block(1, w0), _block(w0, w1), _block(w1, w2), _block(w2, w3)
        # detector decoder: 1/8 -> full resolution
        self.det2, self.det1, self.det0 = _merge(w3 + w2, w2), _merge(w2 + w1, w1), _merge(w1 + w0, w0)
        self.detector = nn.Conv2d(w0, 2, kernel_size=1)  # repeatability and reliability logits
        # descriptor decoder: 1/8 (optionally keypoint-augmented) -> 1/4
        self.attention = _FusedAttention(w3, config.attention_heads, 8) if config.keypoint_attention else None
        self.desc2 = _merge(w3 + w2, w3)
        self.descriptor = nn.Conv2d(w3, config.descriptor_dim, kernel_size=1)
        self.vessels = nn.Sequential(_merge(w0 + 1, w0), nn.Conv2d(w0, 1, 1)) if config.vessel_branch else None

    @staticmethod
    def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, image: torch.Tensor, attention_points: torch.Tensor | None = None,
                valid: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """image (B, 1, H, W) in [0, 1], H and W multiples of 8.

        Returns repeatability and reliability (B, 1, H, W) in (0, 1), descriptors (B, D, H/4, W/4) of unit norm,
        and, when enabled, attention tokens with their points and vessel logits (B, 1, H, W). `attention_points`
        (B, N, 2) px overrides the keypoints the attention layer uses (training gives corresponding points in both
        views); by default the strongest repeatability peaks inside `valid` are used.
        """
        e0 = self.enc0(image)
        e1 = self.enc1(F.max_pool2d(e0, 2))
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        d2 = self.det2(torch.cat([self._up(e3, e2), e2], 1))
        d1 = self.det1(torch.cat([self._up(d2, e1), e1], 1))
        d0 = self.det0(torch.cat([self._up(d1, e0), e0], 1))
        logits = self.detector(d0)
        output = {"repeatability": torch.sigmoid(logits[:, :1]), "reliability": torch.sigmoid(logits[:, 1:])}

        fused = e3
        if self.attention is not None:
            if attention_points is None:
                attention_points = heatmap_peaks(output["repeatability"].detach(), self.config.attention_keypoints,
                                                 mask=valid)
            fused, tokens = self.attention(e3, attention_points)
            output.update(tokens=tokens, attention_points=attention_points)
        descriptors = self.descriptor(self.desc2(torch.cat([self._up(fused, e2), e2], 1)))
        output["descriptors"] = F.normalize(descriptors, dim=1)
        if self.vessels is not None:
            output["vessels"] = self.vessels(torch.cat([d0, output["repeatability"]], 1))
        return output
