#!/usr/bin/env bash
# Ablation of the Retinal IPA additions: the same recipe, seed and step budget (600 steps) with each addition off
# in turn, exported side by side for `slicer-keypoints bench align --models Testing/Training/runs/ablation-models`.
set -euo pipefail
cd "$(dirname "$0")/../.."
for variant in full no-attention no-vessel-branch no-heatmap-labels; do
  .venv/bin/slicer-keypoints train retina-keypoints --config "Testing/Training/configs/ablation/$variant.json" \
    --export Testing/Training/runs/ablation-models
done
