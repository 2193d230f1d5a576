"""Losses of the retinal keypoint network.

Paper 002 (after R2D2): repeatability = 1 - cosine similarity of S and the warped S' over N x N windows, plus
peakiness; descriptors and reliability by the AP loss with reliability, L = 1 - AP R - k (1 - R), k = 0.5, with AP a
differentiable (histogram-binned) average precision of each query's true match among candidates.
Retinal IPA additions: Gaussian heatmap labels (vessel junctions, then the model's own detections), vessel
segmentation with cross-view consistency, and an InfoNCE contrastive loss on the attended keypoint tokens.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.losses import DiceLoss

from KeypointEngineLib.blocks.sampling import sample_at


def warp_to_b(map_a: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Resample a (B, C, H, W) map of view A into view B's frame using flow (B, H, W, 2) = A px of each B px."""
    height, width = map_a.shape[-2:]
    grid = torch.stack([2 * (flow[..., 0] + 0.5) / width - 1, 2 * (flow[..., 1] + 0.5) / height - 1], dim=-1)
    return F.grid_sample(map_a, grid, mode="bilinear", align_corners=False)


def peakiness_loss(heatmap: torch.Tensor, window: int) -> torch.Tensor:
    """1 - mean over N x N windows of (max - mean): one clear peak per window."""
    padding = window // 2
    peak = F.max_pool2d(heatmap, window, stride=1, padding=padding)
    mean = F.avg_pool2d(heatmap, window, stride=1, padding=padding, count_include_pad=False)
    return 1 - (peak - mean).mean()


def cosim_loss(s_b: torch.Tensor, s_a_in_b: torch.Tensor, valid: torch.Tensor, window: int) -> torch.Tensor:
    """1 - mean cosine similarity of corresponding N x N windows (half-overlapping) of S_B and the warped S_A."""
    stride = window // 2
    patches_b = F.unfold(s_b * valid, window, stride=stride)
    patches_a = F.unfold(s_a_in_b * valid, window, stride=stride)
    coverage = F.unfold(valid, window, stride=stride).mean(dim=1)
    similarity = F.cosine_similarity(patches_b, patches_a, dim=1, eps=1e-8)
    keep = coverage > 0.5
    return 1 - similarity[keep].mean() if keep.any() else s_b.sum() * 0


def repeatability_loss(s_a, s_b, flow, valid, window: int = 16) -> torch.Tensor:
    """Paper 002, eq. 3: L_cosim + (L_peaky(S) + L_peaky(S')) / 2."""
    return (cosim_loss(s_b, warp_to_b(s_a, flow), valid, window)
            + 0.5 * (peakiness_loss(s_a, window) + peakiness_loss(s_b, window)))


def average_precision(similarity: torch.Tensor, positive: torch.Tensor, ignore: torch.Tensor,
                      bins: int = 25) -> torch.Tensor:
    """Differentiable AP per row: similarities (Q, M) in [-1, 1] softly binned (triangular kernels), precision and
    recall accumulated from the highest bin down. `positive` marks true matches, `ignore` candidates left out."""
    centres = torch.linspace(1, -1, bins, device=similarity.device)
    width = 2.0 / (bins - 1)
    weights = (1 - (similarity.unsqueeze(-1) - centres).abs() / width).clamp(min=0)  # (Q, M, bins)
    weights = weights * (~ignore).unsqueeze(-1)
    positives_per_bin = (weights * positive.unsqueeze(-1)).sum(dim=1)  # (Q, bins)
    all_per_bin = weights.sum(dim=1)
    precision = positives_per_bin.cumsum(-1) / all_per_bin.cumsum(-1).clamp(min=1e-8)
    recall = positives_per_bin / positive.sum(dim=1, keepdim=True).clamp(min=1e-8)
    return (precision * recall).sum(dim=-1)


def ap_reliability_loss(desc_a, desc_b, reliability_b, flow, valid, k: float = 0.5, step: int = 8,
                        ambiguous_px: float = 8.0, max_queries: int = 128) -> torch.Tensor:
    """Paper 002, eq. 5, over query pixels on a grid in view B (at most `max_queries` per image, drawn at random):
    each query's positive is its true correspondence in A; the candidates are descriptors of A on the same grid,
    those within `ambiguous_px` of the truth ignored."""
    batch, _, height4, width4 = desc_a.shape
    height, width = height4 * 4, width4 * 4
    device = desc_a.device
    ys, xs = torch.meshgrid(torch.arange(step // 2, height, step, device=device),
                            torch.arange(step // 2, width, step, device=device), indexing="ij")
    grid = torch.stack([xs.flatten(), ys.flatten()], dim=-1).float()  # (G, 2)
    losses = []
    for b in range(batch):
        query_valid = valid[b, 0, grid[:, 1].long(), grid[:, 0].long()] > 0
        if query_valid.sum() < 8:
            continue
        queries = grid[query_valid]
        queries = queries[torch.randperm(len(queries), device=device)[:max_queries]]
        truth = flow[b, queries[:, 1].long(), queries[:, 0].long()]  # (Q, 2) in A
        d_query = sample_at(desc_b[b:b + 1], queries[None], 4)[0]
        d_positive = sample_at(desc_a[b:b + 1], truth[None], 4)[0]
        d_grid = sample_at(desc_a[b:b + 1], grid[None], 4)[0]
        candidates = torch.cat([d_positive, d_grid], dim=0)  # each query's positive is row q of the first block
        similarity = F.normalize(d_query, dim=-1) @ F.normalize(candidates, dim=-1).T  # (Q, Q + G)
        count = len(queries)
        positive = torch.zeros_like(similarity, dtype=torch.bool)
        positive[torch.arange(count), torch.arange(count)] = True
        ignore = torch.ones_like(positive)
        ignore[torch.arange(count), torch.arange(count)] = False
        ignore[:, count:] = torch.cdist(truth, grid) < ambiguous_px  # too close to the truth to call negative
        ap = average_precision(similarity, positive, ignore)
        r = sample_at(reliability_b[b:b + 1], queries[None], 1)[0, :, 0]
        losses.append((1 - ap * r - k * (1 - r)).mean())
    return torch.stack(losses).mean() if losses else desc_a.sum() * 0


def heatmap_loss(repeatability, labels, fov) -> torch.Tensor:
    """Weighted squared error towards Gaussian keypoint labels; peaks weigh more than the empty background."""
    weight = (1 + 10 * labels) * fov
    return ((repeatability - labels) ** 2 * weight).sum() / weight.sum().clamp(min=1)


_dice = DiceLoss(sigmoid=True)


def vessel_loss(logits_a, logits_b, vessels_a, vessels_b, fov_a, fov_b, flow, valid) -> torch.Tensor:
    """Supervised (BCE + Dice inside the field of view) in both views, plus consistency across the transform:
    the segmentation of B must equal A's warped into B."""
    supervised = 0
    for logits, target, fov in ((logits_a, vessels_a, fov_a), (logits_b, vessels_b, fov_b)):
        supervised = supervised + F.binary_cross_entropy_with_logits(logits, target, weight=fov) + _dice(
            logits * fov + (fov - 1) * 20, target * fov)
    consistency = ((torch.sigmoid(logits_b) - warp_to_b(torch.sigmoid(logits_a), flow)).abs() * valid).sum() / (
        valid.sum().clamp(min=1))
    return supervised / 2 + consistency


def token_contrastive_loss(tokens_a, tokens_b, temperature: float = 0.1) -> torch.Tensor:
    """InfoNCE both ways: token i of view B should match token i of view A (the same retinal point) and no other."""
    a, b = F.normalize(tokens_a, dim=-1), F.normalize(tokens_b, dim=-1)
    logits = b @ a.transpose(1, 2) / temperature  # (B, N, N)
    target = torch.arange(logits.shape[1], device=logits.device).expand(logits.shape[0], -1)
    return 0.5 * (F.cross_entropy(logits.flatten(0, 1), target.flatten())
                  + F.cross_entropy(logits.transpose(1, 2).flatten(0, 1), target.flatten()))
