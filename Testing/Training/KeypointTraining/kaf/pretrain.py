"""The `kaf-pretrain` recipe: KAF-UNet (or the plain UNet) pretrained without labels on neighbouring slices
(pretraining.py); its exported weights are the `init` of the kaf-unet recipe's fine-tuning.

Recipe options: data (as kaf-unet), architecture ("kaf" or "unet"), weights ("cnn,keypoint,local" loss weights,
default "1,1,0.01" as the paper; the plain UNet has only the first), threshold (positional positives, default 0.1),
temperature (0.1), base_features (16), attention_depth (2), keypoints (128).
"""

from __future__ import annotations

import torch
from torch import nn

from KeypointEngineLib.cardiac.network import KAFConfig, KAFUNet
from KeypointTraining.config import TrainConfig
from KeypointTraining.kaf.data import working_frame
from KeypointTraining.kaf.pairs import NeighbourPairs, collate_pairs
from KeypointTraining.kaf.pretraining import (
    PretrainingHeads,
    assignment_nll,
    log_optimal_transport,
    positional_contrastive,
)
from KeypointTraining.kaf.recipe import DATA_TERMS, data_folder, training_frames
from KeypointTraining.recipes import Recipe, register_recipe


class Pretraining(nn.Module):
    """The network and the pretraining heads; its state dict's `network.` part is what fine-tuning starts from."""

    def __init__(self, network: KAFUNet):
        super().__init__()
        self.network = network
        widths = [network.config.base_features * 2 ** level for level in range(5)]
        self.heads = PretrainingHeads(widths[-1], sum(widths[:4]) if network.config.keypoint_fusion else 0)

    def forward(self, image, points, padding):
        return self.network(image, points, padding)


def pretraining_losses(model: Pretraining, batch: dict, weights=(1.0, 1.0, 0.01), threshold=0.1,
                       temperature=0.1) -> dict[str, torch.Tensor]:
    output = model(batch["image"], batch["points"], batch["padding"])
    pairs = len(batch["matches"])
    groups = torch.arange(2 * pairs, device=batch["image"].device) % pairs
    losses = {"global_cnn": weights[0] * positional_contrastive(model.heads.cnn_embedding(output["bottleneck"]),
                                                                batch["positions"], groups, threshold, temperature)}
    if output["tokens"]:
        tokens = torch.cat(output["tokens"], dim=-1)  # (2B, N, sum of the four layers' channels)
        losses["global_keypoint"] = weights[1] * positional_contrastive(
            model.heads.keypoint_embedding(tokens, batch["padding"]), batch["positions"], groups, threshold,
            temperature)
        local = []
        for item in range(pairs):
            a = tokens[item][~batch["padding"][item]]
            b = tokens[pairs + item][~batch["padding"][pairs + item]]
            if not len(a) or not len(b):
                continue
            assignment = log_optimal_transport(model.heads.match_scores(a, b), model.heads.dustbin)
            local.append(assignment_nll(assignment, batch["matches"][item], batch["unmatched_a"][item],
                                        batch["unmatched_b"][item]))
        losses["local"] = weights[2] * (torch.stack(local).mean() if local else tokens.sum() * 0.0)
    return losses


@register_recipe("kaf-pretrain")
def kaf_pretrain_recipe(config: TrainConfig) -> Recipe:
    options = config.recipe_options
    folder = data_folder(options)
    frames = training_frames(folder, mnms_table=options.get("mnms_table"))
    if not frames:
        raise FileNotFoundError(f"No ACDC frames under {folder} (acdc-sample/, acdc-train/ or patientNNN/ folders).")
    working = [working_frame(frame, labelled=False) for frame in frames]
    architecture = options.get("architecture", "kaf")
    if architecture not in ("kaf", "unet"):
        raise ValueError(f"recipe_options.architecture must be 'kaf' or 'unet', not {architecture!r}.")
    network = KAFConfig(base_features=int(options.get("base_features", 16)), keypoint_fusion=architecture == "kaf",
                        attention_depth=int(options.get("attention_depth", 2)))
    model = Pretraining(KAFUNet(network))
    weights = tuple(float(w) for w in str(options.get("weights", "1,1,0.01")).split(","))
    threshold, temperature = float(options.get("threshold", 0.1)), float(options.get("temperature", 0.1))
    train = NeighbourPairs(working, (config.max_steps or 1000) * config.batch_size, config.seed,
                           int(options.get("keypoints", 128)))

    def training_step(model, batch):
        terms = pretraining_losses(model, batch, weights, threshold, temperature)
        return sum(terms.values()), {name: float(value) for name, value in terms.items()}

    card = {
        "architecture": f"KAFUNet {network.to_dict()} + pretraining heads (use the network.* weights)",
        "input": {"channels": 1, "working_spacing_mm": 1.25},
        "training_data": (f"{len({f.patient for f in frames})} ACDC patients' ED and ES frames, labels unused "
                          "(self-supervised); validation patients excluded"),
        "network": network.to_dict(),
        "pretraining": {"weights": weights, "threshold": threshold, "temperature": temperature},
        "data_terms": DATA_TERMS,
        "limits": "pretrained only: not a segmentation model; fine-tune it with the kaf-unet recipe (init)",
    }
    return Recipe(model=model, train_data=train, training_step=training_step, model_card=card,
                  collate=collate_pairs)
