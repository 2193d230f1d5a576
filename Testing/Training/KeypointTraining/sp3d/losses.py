"""SP3D's loss, L = L_det + L'_det + lambda * L_desc (paper 004): cross-entropy of the cell classes in both views, and
a hinge loss over descriptor pairs of corresponding and non-corresponding cells (SuperPoint's)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from KeypointEngineLib.volume.network import CELL


def detection_loss(logits: torch.Tensor, classes: torch.Tensor, sigma: float = 0.0) -> torch.Tensor:
    """Cross-entropy of (B, 513, d, h, w) logits against (B, d, h, w) cell classes; with `sigma` > 0 (voxels) against
    soft targets instead (soft_cell_targets)."""
    if sigma <= 0:
        return F.cross_entropy(logits, classes)
    return F.cross_entropy(logits, soft_cell_targets(classes, sigma))


def soft_cell_targets(classes: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, 513, d, h, w) probabilities: a keypoint cell's mass spread over its voxels as a Gaussian of `sigma` voxels
    about the keypoint, a dustbin cell's all on the dustbin.

    One-hot targets over 512 voxels give a network one right answer and 511 equally wrong ones, so a miss by one
    voxel costs as much as a miss by eight and the heatmap learns the cell but not the place in it; the Gaussian
    rewards being near, which is what repeatability at 2 mm measures.
    """
    offsets = torch.arange(CELL ** 3, device=classes.device)
    voxel = torch.stack([offsets // CELL ** 2, (offsets // CELL) % CELL, offsets % CELL], dim=1).float()  # (512, 3)
    keypoint = classes < CELL ** 3
    centre = voxel[classes.clamp(max=CELL ** 3 - 1)]  # (B, d, h, w, 3)
    squared = ((voxel[:, None, None, None, None] - centre[None]) ** 2).sum(-1)  # (512, B, d, h, w)
    spread = torch.exp(-squared / (2 * sigma ** 2))
    spread = spread / spread.sum(0, keepdim=True)
    targets = torch.cat([spread * keypoint, (~keypoint)[None].float()], dim=0)
    return targets.movedim(0, 1)


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
