"""Features at keypoints and back, for 2D (B, C, H, W) and 3D (B, C, D, H, W) feature maps.

Keypoints are (B, N, d) full-resolution (x, y[, z]) positions; a map at `stride` has its cell centres at
full-resolution positions stride * (index + 0.5) - 0.5.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def sample_at(features: torch.Tensor, points: torch.Tensor, stride: int) -> torch.Tensor:
    """(B, N, C) features (bi/trilinearly interpolated) at `points` (B, N, d)."""
    sizes = features.shape[2:][::-1]  # (W, H[, D]): the order of (x, y[, z])
    cell = (points + 0.5) / stride - 0.5
    grid = torch.stack([2 * (cell[..., axis] + 0.5) / size - 1 for axis, size in enumerate(sizes)], dim=-1)
    grid = grid.reshape(len(points), *([1] * (len(sizes) - 1)), points.shape[1], len(sizes))
    sampled = F.grid_sample(features, grid, mode="bilinear", align_corners=False)
    return sampled.flatten(2).transpose(1, 2)


def scatter_to_cells(tokens: torch.Tensor, points: torch.Tensor, shape: torch.Size, stride: int,
                     padding: torch.Tensor | None = None) -> torch.Tensor:
    """A (B, C, *shape) map holding each token (B, N, C) in the cell of its point (the mean where several share a
    cell, zero where none). Tokens marked True in `padding` (B, N) are left out."""
    batch, count, channels = tokens.shape
    cell = ((points + 0.5) / stride - 0.5).round().long()
    flat = torch.zeros(batch, count, dtype=torch.long, device=tokens.device)
    for axis, size in reversed(list(enumerate(shape[::-1]))):  # z, then y, then x: row-major index of [k, j, i]
        flat = flat * size + cell[..., axis].clamp(0, size - 1)
    weight = tokens.new_ones(batch, count) if padding is None else (~padding).to(tokens.dtype)
    cells = int(torch.tensor(shape).prod())
    summed = tokens.new_zeros(batch, channels, cells).scatter_add(
        2, flat.unsqueeze(1).expand(-1, channels, -1), (tokens * weight.unsqueeze(-1)).transpose(1, 2))
    counts = tokens.new_zeros(batch, 1, cells).scatter_add(2, flat.unsqueeze(1), weight.unsqueeze(1))
    return (summed / counts.clamp(min=1)).view(batch, channels, *shape)
