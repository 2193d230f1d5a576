"""KAF's self-supervised pretraining (paper 003, section 3.2): the losses and the heads they need, which are not
shipped (only the network's weights carry over to fine-tuning).

- Global, positional contrastive (PCL's style): slices at similar normalised positions in their volumes are
  positives; applied to the pooled bottleneck feature and to the keypoint feature (the four KAF layers' tokens of
  each keypoint concatenated, an MLP, averaged over the slice's keypoints).
- Local: keypoints of neighbouring slices matched (correspondences.py) supervise an attention-based assignment
  (cross-attention between the two slices' keypoint features, scores, a dustbin, log-space optimal transport as in
  SuperGlue) through the negative log-likelihood of the true matches and of the unmatched going to the dustbin.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _mlp(inputs: int, dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim))


class PretrainingHeads(nn.Module):
    def __init__(self, bottleneck_channels: int, token_channels: int, dim: int = 128, heads: int = 4):
        super().__init__()
        self.cnn_projector = _mlp(bottleneck_channels, dim)
        self.keypoint_projector = _mlp(token_channels, dim) if token_channels else None
        self.match_projector = nn.Linear(token_channels, dim) if token_channels else None
        self.cross_attention = nn.MultiheadAttention(dim, heads, batch_first=True) if token_channels else None
        self.dustbin = nn.Parameter(torch.tensor(1.0))

    def cnn_embedding(self, bottleneck: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.cnn_projector(bottleneck.mean(dim=(2, 3))), dim=-1)

    def keypoint_embedding(self, tokens: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """(B, D) unit vectors: the per-keypoint MLP averaged over each slice's real (unpadded) keypoints."""
        per_keypoint = self.keypoint_projector(tokens)
        weight = (~padding).float().unsqueeze(-1)
        return F.normalize((per_keypoint * weight).sum(1) / weight.sum(1).clamp(min=1), dim=-1)

    def match_scores(self, tokens_a: torch.Tensor, tokens_b: torch.Tensor) -> torch.Tensor:
        """(N_a, N_b) scores of one slice pair's keypoint features after cross-attention between the slices."""
        a, b = self.match_projector(tokens_a)[None], self.match_projector(tokens_b)[None]
        a = a + self.cross_attention(a, b, b, need_weights=False)[0]
        b = b + self.cross_attention(b, a, a, need_weights=False)[0]
        return (a[0] @ b[0].T) / a.shape[-1] ** 0.5


def positional_contrastive(embeddings: torch.Tensor, positions: torch.Tensor, groups: torch.Tensor,
                           threshold: float = 0.1, temperature: float = 0.1) -> torch.Tensor:
    """Supervised-contrastive loss with positives = slices whose normalised positions differ by less than
    `threshold`, and the two slices of one pair (same `groups` value) always."""
    similarity = embeddings @ embeddings.T / temperature
    self_mask = torch.eye(len(embeddings), dtype=torch.bool, device=embeddings.device)
    positive = ((positions[:, None] - positions[None]).abs() < threshold) | (groups[:, None] == groups[None])
    positive &= ~self_mask
    log_probability = similarity - torch.logsumexp(similarity.masked_fill(self_mask, -torch.inf), dim=1,
                                                   keepdim=True)
    counts = positive.sum(1)
    per_anchor = -(log_probability * positive).sum(1) / counts.clamp(min=1)
    return per_anchor[counts > 0].mean() if (counts > 0).any() else embeddings.sum() * 0.0


def log_optimal_transport(scores: torch.Tensor, dustbin: torch.Tensor, iterations: int = 20) -> torch.Tensor:
    """(M+1, N+1) log assignment probabilities: `scores` (M, N) with a dustbin row and column, normalised by
    Sinkhorn iterations in log space so that each keypoint's row (or column) sums to one and the dustbins take the
    rest."""
    m, n = scores.shape
    couplings = torch.cat([torch.cat([scores, dustbin.expand(m, 1)], 1),
                           torch.cat([dustbin.expand(1, n), dustbin.view(1, 1)], 1)], 0)
    norm = -torch.log(torch.tensor(m + n, dtype=scores.dtype, device=scores.device))
    log_mu = torch.cat([norm.expand(m), (torch.log(torch.tensor(float(n), device=scores.device)) + norm)[None]])
    log_nu = torch.cat([norm.expand(n), (torch.log(torch.tensor(float(m), device=scores.device)) + norm)[None]])
    u, v = torch.zeros_like(log_mu), torch.zeros_like(log_nu)
    for _ in range(iterations):
        u = log_mu - torch.logsumexp(couplings + v[None], dim=1)
        v = log_nu - torch.logsumexp(couplings + u[:, None], dim=0)
    return couplings + u[:, None] + v[None] - norm


def assignment_nll(log_assignment: torch.Tensor, matches: torch.Tensor, unmatched_a: torch.Tensor,
                   unmatched_b: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of the true matches, and of each unmatched keypoint going to the dustbin."""
    terms = [log_assignment[matches[:, 0], matches[:, 1]], log_assignment[unmatched_a, -1],
             log_assignment[-1, unmatched_b]]
    values = torch.cat(terms)
    return -values.mean() if len(values) else log_assignment.sum() * 0.0
