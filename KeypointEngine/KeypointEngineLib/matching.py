"""Descriptor matching: mutual nearest neighbours with an optional ratio test (Lowe)."""

from __future__ import annotations

import numpy as np
import torch

from KeypointEngineLib.features import Features, Matches


def match_mutual_nearest(fixed: Features, moving: Features, ratio: float = 1.0) -> Matches:
    """Pairs (f, m) where m is f's nearest moving descriptor and f is m's nearest fixed descriptor.

    With `ratio` < 1, a pair is also kept only if its distance is below `ratio` times the distance to f's second
    nearest moving descriptor.
    """
    if len(fixed) == 0 or len(moving) == 0:
        return Matches(np.zeros(0, int), np.zeros(0, int), np.zeros(0, np.float32))
    distances = torch.cdist(torch.from_numpy(fixed.descriptors).float(), torch.from_numpy(moving.descriptors).float())
    nearest_moving = distances.argmin(dim=1)
    nearest_fixed = distances.argmin(dim=0)
    fixed_index = torch.arange(len(fixed))
    mutual = nearest_fixed[nearest_moving] == fixed_index
    best = distances[fixed_index, nearest_moving]
    if ratio < 1.0 and len(moving) > 1:
        second = distances.topk(2, dim=1, largest=False).values[:, 1]
        mutual &= best < ratio * second
    keep = mutual.nonzero().flatten()
    return Matches(keep.numpy(), nearest_moving[keep].numpy(), best[keep].numpy())
