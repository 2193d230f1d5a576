"""Keypoint attention (Retinal IPA's keypoint-augmented layer; KAF's fusion layer): CNN features sampled at keypoints
-> a projector -> transformer self-attention among the keypoints -> written back to their cells.

Each network keeps its own fusion of the written-back map with its CNN map. Batches of images with unequal keypoint
counts are padded: `padding` (B, N), True at padded slots, masks them out of attention and of the written-back map.
"""

from __future__ import annotations

import torch
from torch import nn

from KeypointEngineLib.blocks.sampling import sample_at, scatter_to_cells


class KeypointAttention(nn.Module):
    """Tokens at keypoints attend to each other, then return to the map.

    channels: of the feature map (and the tokens); heads, depth: of the transformer; stride: the map's downsampling
    from the image the points are given in; projector_layers: linear layers (ReLU between) from sampled feature
    (+ position) to token; position: append each keypoint's normalised position (-1..1 per axis) to its feature, so
    attention can use geometry; spatial_dims: 2 or 3.
    """

    def __init__(self, channels: int, heads: int, stride: int, depth: int = 1, projector_layers: int = 2,
                 position: bool = True, spatial_dims: int = 2, feedforward_factor: int = 2):
        super().__init__()
        self.stride, self.position, self.spatial_dims = stride, position, spatial_dims
        layers: list[nn.Module] = [nn.Linear(channels + (spatial_dims if position else 0), channels)]
        for _ in range(projector_layers - 1):
            layers += [nn.ReLU(), nn.Linear(channels, channels)]
        self.embed = nn.Sequential(*layers)
        layer = nn.TransformerEncoderLayer(channels, heads, dim_feedforward=feedforward_factor * channels,
                                           dropout=0.0, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, num_layers=depth, enable_nested_tensor=False)

    def forward(self, features: torch.Tensor, points: torch.Tensor,
                padding: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(written-back map (B, C, *spatial), tokens (B, N, C)) for `points` (B, N, d) full-resolution px/voxels."""
        spatial = features.shape[2:]
        tokens = sample_at(features, points, self.stride)
        if self.position:
            size = torch.tensor(spatial[::-1], dtype=points.dtype, device=points.device) * self.stride
            tokens = torch.cat([tokens, points / size * 2 - 1], dim=-1)
        tokens = self.transformer(self.embed(tokens), src_key_padding_mask=padding)
        if padding is not None:  # an image with only padded slots attends to nothing: NaN there, zero it
            tokens = tokens.masked_fill(padding.unsqueeze(-1), 0.0)
        return scatter_to_cells(tokens, points, spatial, self.stride, padding), tokens
