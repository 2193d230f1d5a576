"""The `kaf-unet` recipe: KAF-UNet (or the plain UNet of the same width) trained on labelled ACDC slices with
cross-entropy (+ Dice), from scratch or from pretrained weights.

Recipe options (config `recipe_options`, or `--set recipe_options.NAME=VALUE`):
  data              folder holding acdc-sample/ and acdc-train/ (default $KEYPOINT_DATA or ../shared/data), or a real
                    ACDC release (patientNNN/ folders with Info.cfg), or M&Ms subject folders (with mnms_table)
  mnms_table        the M&Ms CSV (External code, ED, ES): read `data` as M&Ms
  architecture      "kaf" (default) or "unet"
  labelled          number of labelled training patients (default: all 60 outside the validation split); fewer are
                    drawn with `draw` (seed) for the few-shot runs
  draw              seed of that draw (default 0)
  init              pretrained weights to start from (a state dict, e.g. from the kaf-pretrain recipe)
  loss              "dice_ce" (default) or "ce"
  base_features     UNet width (default 16); attention_depth (default 2); keypoints per 128² crop (default 128)
  anywhere          share of crops placed anywhere in the slice rather than about the heart (default 0.4): inference
                    sees whole slices
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from KeypointEngineLib.cardiac.network import KAFConfig, KAFUNet
from KeypointEvaluationLib.cardiac.datasets import acdc_release_frames, h5_frames, mnms_frames
from KeypointEvaluationLib.cardiac.splits import VALIDATION_PATIENTS
from KeypointTraining.config import TrainConfig
from KeypointTraining.kaf.data import CROP, SliceSamples, collate, working_frame
from KeypointTraining.recipes import Recipe, register_recipe

DATA_TERMS = ("ACDC (Bernard et al., IEEE TMI 37(11), 2018): non-commercial research use only, cite the paper; "
              "these terms may restrict the use of weights trained on it.")


def data_folder(options: dict) -> Path:
    return Path(options.get("data") or os.environ.get("KEYPOINT_DATA") or
                Path(__file__).resolve().parents[5] / "shared" / "data")


def training_frames(folder: Path, exclude=VALIDATION_PATIENTS, mnms_table: Path | None = None):
    """Every labelled ED/ES frame under `folder` (the shared HDF5 folders, a real ACDC release, or M&Ms with its
    table), minus the validation patients."""
    if mnms_table is not None:
        return [frame for frame in mnms_frames(folder, Path(mnms_table)) if frame.patient not in exclude]
    frames = [frame for sub in ("acdc-sample", "acdc-train") for frame in h5_frames(folder / sub)]
    if not frames:
        frames = list(acdc_release_frames(folder))
    return [frame for frame in frames if frame.patient not in exclude]


def labelled_patients(patients: list[str], count: int | None, draw: int) -> list[str]:
    """All `patients`, or `count` of them drawn with seed `draw` (the few-shot runs: M = 2, 6)."""
    if count is None or count >= len(patients):
        return sorted(patients)
    return sorted(np.random.default_rng(draw).choice(sorted(patients), count, replace=False).tolist())


def segmentation_loss(name: str):
    from monai.losses import DiceCELoss

    if name == "ce":
        return lambda logits, label: torch.nn.functional.cross_entropy(logits, label)
    if name == "dice_ce":
        dice_ce = DiceCELoss(to_onehot_y=True, softmax=True)
        return lambda logits, label: dice_ce(logits, label[:, None])
    raise ValueError(f"recipe_options.loss must be 'ce' or 'dice_ce', not {name!r}.")


@register_recipe("kaf-unet")
def kaf_unet_recipe(config: TrainConfig) -> Recipe:
    options = config.recipe_options
    folder = data_folder(options)
    frames = training_frames(folder, mnms_table=options.get("mnms_table"))
    if not frames:
        raise FileNotFoundError(f"No ACDC frames under {folder} (acdc-sample/, acdc-train/ or patientNNN/ folders), "
                                "nor M&Ms subjects with recipe_options.mnms_table.")
    count = options.get("labelled")
    chosen = labelled_patients(sorted({frame.patient for frame in frames}), None if count is None else int(count),
                               int(options.get("draw", 0)))
    working = [working_frame(frame) for frame in frames if frame.patient in chosen]
    architecture = options.get("architecture", "kaf")
    if architecture not in ("kaf", "unet"):
        raise ValueError(f"recipe_options.architecture must be 'kaf' or 'unet', not {architecture!r}.")
    network = KAFConfig(base_features=int(options.get("base_features", 16)), keypoint_fusion=architecture == "kaf",
                        attention_depth=int(options.get("attention_depth", 2)))
    model = KAFUNet(network)
    if options.get("init"):
        state = torch.load(options["init"], map_location="cpu", weights_only=True)
        if any(key.startswith("network.") for key in state):  # a kaf-pretrain export: the network without heads
            state = {key[len("network."):]: value for key, value in state.items() if key.startswith("network.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        print(f"init from {options['init']}: {len(missing)} missing, {len(unexpected)} unexpected keys")
    keypoints = int(options.get("keypoints", 128))
    train = SliceSamples(working, (config.max_steps or 1000) * config.batch_size, config.seed, keypoints,
                         float(options.get("anywhere", 0.4)))
    loss = segmentation_loss(options.get("loss", "dice_ce"))

    def training_step(model, batch):
        logits = model(batch["image"], batch["points"], batch["padding"])["logits"]
        value = loss(logits, batch["label"])
        return value, {"segmentation": float(value)}

    card = {
        "architecture": f"KAFUNet {network.to_dict()}",
        "input": {"channels": 1, "working_spacing_mm": 1.25, "crop_px": CROP,
                  "preprocessing": "short-axis slices resampled in-plane to 1.25 mm, 1st-99th percentile of the "
                                   "volume scaled to 0..1; SIFT keypoints per slice (OpenCV)"},
        "training_data": (f"{len(chosen)} ACDC patients, ED and ES ({len(working)} frames), labelled; validation "
                          f"patients never seen: {', '.join(VALIDATION_PATIENTS)}. HDF5 frames carry no spacing: "
                          "1.5625 x 1.5625 x 10 mm assumed, scale augmented by +-15 %."),
        "network": network.to_dict(),
        "labelled_patients": chosen,
        "validation_patients": list(VALIDATION_PATIENTS),
        "data_terms": DATA_TERMS,
    }
    return Recipe(model=model, train_data=train, training_step=training_step, model_card=card, collate=collate)
