"""SP3D's loss, L = L_det + L'_det + lambda * L_desc (paper 004): cross-entropy of the cell classes in both views, and
a hinge loss over descriptor pairs of corresponding and non-corresponding cells (SuperPoint's)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from KeypointEngineLib.volume.network import CELL


def detection_loss(logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (B, 513, d, h, w) logits against (B, d, h, w) cell classes."""
    return F.cross_entropy(logits, classes)


def descriptor_loss(descriptors_a: torch.Tensor, descriptors_b: torch.Tensor, centres_b_in_a: torch.Tensor,
                    centres: torch.Tensor, valid_b: torch.Tensor, positive_margin: float = 1.0,
                    negative_margin: float = 0.2, positive_weight: float = 250.0) -> torch.Tensor:
    """Hinge loss over every pair of cells (a in view A, b in view B), per batch item.

    `centres` (M, 3): cell centres of view A (voxels); `centres_b_in_a` (B, M, 3): where view B's cell centres lie in
    view A; `valid_b` (B, M): B's cells that lie inside A. A pair corresponds when b's centre falls within half a cell
    of a's. Descriptors are unit vectors (B, dim, d, h, w); the positive weight balances the few corresponding pairs
    against the many others, as in SuperPoint.
    """
    losses = []
    for item in range(len(descriptors_a)):
        a = descriptors_a[item].flatten(1).T  # (M, dim)
        b = descriptors_b[item].flatten(1).T
        distance = torch.cdist(centres_b_in_a[item], centres, p=float("inf"))  # (M_b, M_a) voxels, per axis
        positive = (distance <= CELL / 2).float() * valid_b[item, :, None]
        similarity = b @ a.T
        loss = (positive_weight * positive * F.relu(positive_margin - similarity)
                + (1 - positive) * F.relu(similarity - negative_margin))
        losses.append(loss.mean())
    return torch.stack(losses).mean()
