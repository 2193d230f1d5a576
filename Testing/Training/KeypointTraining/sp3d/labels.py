"""SP3D's training targets: a cell class per 8³ cell (which voxel holds a keypoint, or the dustbin), and which cells
of two views correspond."""

from __future__ import annotations

import torch
from monai.networks.utils import pixelunshuffle

from KeypointEngineLib.volume.network import CELL


def cell_classes(points: torch.Tensor, shape: tuple[int, int, int], generator: torch.Generator | None = None
                 ) -> torch.Tensor:
    """(D/8, H/8, W/8) long: for each cell the index (0..511, pixelshuffle order) of a keypoint voxel in it, chosen at
    random where there are several, or 512 (the dustbin) where there is none. `points` (N, 3) are (x, y, z) voxels."""
    occupancy = torch.zeros(1, 1, *shape)
    index = points.round().long()
    inside = ((index >= 0) & (index < torch.tensor(shape[::-1]))).all(dim=1)
    index = index[inside]
    occupancy[0, 0, index[:, 2], index[:, 1], index[:, 0]] = 1.0
    cells = pixelunshuffle(occupancy, spatial_dims=3, scale_factor=CELL)[0]  # (512, d, h, w)
    noise = torch.rand(cells.shape, generator=generator) * 0.5  # a random pick among several keypoints
    scores = torch.cat([cells + noise * cells, torch.full((1, *cells.shape[1:]), 0.5)], dim=0)
    return scores.argmax(dim=0)


def cell_centres(shape: tuple[int, int, int]) -> torch.Tensor:
    """(d*h*w, 3) (x, y, z) voxel positions of the cell centres, cells in row-major [z, y, x] order."""
    d, h, w = (size // CELL for size in shape)
    z, y, x = torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in (d, h, w)], indexing="ij")
    return torch.stack([x, y, z], dim=-1).reshape(-1, 3) * CELL + (CELL - 1) / 2
