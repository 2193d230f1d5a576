"""KAF-UNet (paper 003): a 2D UNet whose first four encoder blocks are each followed by a keypoint-augmented fusion
(KAF) layer; with `keypoint_fusion=False` the same UNet without them (the plain baseline of equal width).

Backbone: five encoder blocks and four decoder blocks of two convolutions + BN + ReLU (MONAI's BasicUNet blocks),
channels doubling from `base_features`. KAF layer: CNN features sampled at the slice's SIFT keypoints, a single-layer
projector, transformer self-attention among the keypoints (the engine's shared KeypointAttention), scattered back to
a sparse map, diffused by a two-layer CNN and concatenated with the CNN map, so a fused block hands on twice its
channels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from monai.networks.nets.basic_unet import Down, TwoConv, UpCat
from torch import nn

from KeypointEngineLib.blocks.keypoint_attention import KeypointAttention

CLASSES = 4  # background, right ventricle cavity, left ventricle myocardium, left ventricle cavity (ACDC's labels)
LEVELS = 5  # encoder blocks: the input's sides must be multiples of 2 ** (LEVELS - 1)
_ACT, _NORM = ("relu", {"inplace": True}), "batch"


@dataclass
class KAFConfig:
    base_features: int = 16
    keypoint_fusion: bool = True  # False: the plain UNet
    attention_depth: int = 2  # self-attention layers per KAF layer (paper: 6; 2 fits the reference CPU)
    attention_heads: int = 2
    classes: int = CLASSES

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> KAFConfig:
        return cls(**data)


class KAFLayer(nn.Module):
    """Keypoint attention on one encoder map, diffused and concatenated: (B, C, H, W) -> (B, 2C, H, W)."""

    def __init__(self, channels: int, stride: int, heads: int, depth: int):
        super().__init__()
        self.attention = KeypointAttention(channels, heads, stride, depth, projector_layers=1, position=False)
        self.diffusion = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
                                       nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, features, points, padding):
        sparse, tokens = self.attention(features, points, padding)
        return torch.cat([features, self.diffusion(sparse)], dim=1), tokens


class KAFUNet(nn.Module):
    def __init__(self, config: KAFConfig | None = None):
        super().__init__()
        self.config = config = config or KAFConfig()
        widths = [config.base_features * 2 ** level for level in range(LEVELS)]
        fused = 2 if config.keypoint_fusion else 1
        out = [width * fused for width in widths[:-1]] + [widths[-1]]  # channels each encoder level hands on
        self.encoder = nn.ModuleList([TwoConv(2, 1, widths[0], _ACT, _NORM, False)] + [
            Down(2, out[level - 1], widths[level], _ACT, _NORM, False) for level in range(1, LEVELS)])
        self.fusion = nn.ModuleList([KAFLayer(widths[level], 2 ** level, config.attention_heads,
                                              config.attention_depth) for level in range(LEVELS - 1)]
                                    ) if config.keypoint_fusion else None
        self.decoder = nn.ModuleList([
            UpCat(2, out[level + 1] if level == LEVELS - 2 else widths[level + 1], out[level], widths[level], _ACT,
                  _NORM, False, halves=level > 0)
            for level in reversed(range(LEVELS - 1))])
        self.head = nn.Conv2d(widths[0], config.classes, 1)

    def forward(self, image: torch.Tensor, points: torch.Tensor | None = None,
                padding: torch.Tensor | None = None) -> dict:
        """image (B, 1, H, W), H and W multiples of 16; points (B, N, 2) keypoints (x, y) in px of the image,
        padding (B, N) True at padded slots (KAF only).

        Returns logits (B, classes, H, W), bottleneck (B, 16 f, H/16, W/16) and the keypoint tokens of each KAF layer
        [(B, N, C_l)] (empty for the plain UNet): the features self-supervised pretraining works on.
        """
        if self.fusion is not None and points is None:
            raise ValueError("KAF-UNet needs the keypoints of each slice (KeypointEngineLib.cardiac.keypoints).")
        skips, tokens, x = [], [], image
        for level, block in enumerate(self.encoder):
            x = block(x)
            if self.fusion is not None and level < LEVELS - 1:
                x, level_tokens = self.fusion[level](x, points, padding)
                tokens.append(level_tokens)
            skips.append(x)
        bottleneck = x
        for block, skip in zip(self.decoder, reversed(skips[:-1]), strict=True):
            x = block(x, skip)
        return {"logits": self.head(x), "bottleneck": bottleneck, "tokens": tokens}
