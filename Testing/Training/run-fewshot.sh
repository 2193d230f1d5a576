#!/usr/bin/env bash
# KeypointSeg's few-shot benchmark (issue 16): pretraining once per architecture, then fine-tuning on M = 2 and 6
# labelled patients drawn three times (fixed seeds), from random and from pretrained weights; every run is exported
# as <architecture>-<init>-m<M>-d<draw> into Testing/Training/runs/fewshot-models, where
#   slicer-keypoints bench segment --checkpoints Testing/Training/runs/fewshot-models
# groups the draws (mean +- sd) and prints the targets. Each stage is skipped when its export exists, so the script
# resumes across sessions. Measured on the 2-core reference CPU: pretraining about 1 h (KAF) and 0.5 h (UNet), each
# fine-tuning run about 5 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
models=Testing/Training/runs/fewshot-models
pretrained=Testing/Training/runs/pretrained-models  # not segmentation models: kept out of $models
train() { .venv/bin/slicer-keypoints train "$@"; }
for architecture in kaf unet; do
  if [ ! -f "$pretrained/$architecture-pretraining.pt" ]; then
    train kaf-pretrain --resume --set recipe_options.architecture=$architecture --set max_steps=2000 --set batch_size=8 \
      --set output_dir=Testing/Training/runs/$architecture-pretraining --set model_name=$architecture-pretraining \
      --set checkpoint_every_steps=100 --export "$pretrained"
  fi
done
for m in 2 6; do
  for draw in 0 1 2; do
    for architecture in kaf unet; do
      for init in random pretrained; do
        name=$architecture-$init-m$m-d$draw
        [ -f "$models/$name.pt" ] && continue
        options=(--set recipe_options.architecture=$architecture --set recipe_options.labelled=$m
                 --set recipe_options.draw=$draw --set max_steps=300 --set batch_size=8 --set learning_rate=0.001
                 --set output_dir=Testing/Training/runs/fewshot/$name --set model_name=$name)
        [ "$init" = pretrained ] && options+=(--set "recipe_options.init=$pretrained/$architecture-pretraining.pt")
        train kaf-unet --resume "${options[@]}" --export "$models"
      done
    done
  done
done
