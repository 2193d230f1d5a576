"""The `sp3d-shapes` recipe: SP3D's first stage (SP3D-pt), SP3DNet on synthetic 3D shapes with known corners.

Recipe options (config `recipe_options`, or `--set recipe_options.NAME=VALUE`):
  size                  edge of the training volumes, voxels (default 64, a multiple of 8)
  shapes                shapes per volume (default 8)
  max_rotation          largest rotation between the two views, degrees (default 90: scans are repositioned freely)
  descriptor_weight     lambda of the descriptor loss (default 1.0)
  label_sigma           spread of the detection targets inside a cell, voxels (default 0: one-hot; losses.py)
  validation_pairs      held-out pairs for the evaluation hook (default 8)
"""

from __future__ import annotations

import numpy as np
import torch

from KeypointEngineLib.blocks.peaks import find_peaks
from KeypointEngineLib.volume.network import SP3DConfig, SP3DNet
from KeypointTraining.config import TrainConfig
from KeypointTraining.recipes import Recipe, register_recipe
from KeypointTraining.sp3d.labels import cell_centres
from KeypointTraining.sp3d.losses import descriptor_loss, detection_loss
from KeypointTraining.sp3d.pairs import make_pair, map_points, random_motion
from KeypointTraining.sp3d.shapes import make_shapes_volume


class ShapePairs(torch.utils.data.Dataset):
    """Pairs of synthetic-shape volumes under random motions; item i is the same for the same seed."""

    def __init__(self, length: int, seed: int, size: int = 64, shapes: int = 8, max_rotation: float = 90.0):
        self.length, self.seed, self.shape = length, seed, (size, size, size)
        self.shapes, self.max_rotation = shapes, max_rotation

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        volume, corners = make_shapes_volume(rng, self.shape, self.shapes)
        motion = random_motion(rng, self.shape, self.max_rotation)
        return make_pair(volume, corners, motion, rng, torch.Generator().manual_seed(int(rng.integers(1 << 31))))


def compute_losses(model: SP3DNet, batch: dict, descriptor_weight: float, label_sigma: float = 0.0
                   ) -> dict[str, torch.Tensor]:
    out_a, out_b = model(batch["volume_a"]), model(batch["volume_b"])
    centres = cell_centres(tuple(batch["volume_a"].shape[2:])).to(batch["volume_a"].device)
    return {"detection_a": detection_loss(out_a["logits"], batch["classes_a"], label_sigma),
            "detection_b": detection_loss(out_b["logits"], batch["classes_b"], label_sigma),
            "descriptor": descriptor_weight * descriptor_loss(out_a["descriptors"], out_b["descriptors"],
                                                              batch["centres_b_in_a"], centres, batch["valid_b"])}


def _steps(validation: torch.utils.data.Dataset, weight: float, with_repeatability: bool, label_sigma: float = 0.0):
    """The recipe's training step and evaluation hook (validation losses, and repeatability where labels are exact)."""
    batch = torch.utils.data.default_collate([validation[i] for i in range(len(validation))])

    def training_step(model, items):
        terms = compute_losses(model, items, weight, label_sigma)
        return sum(terms.values()), {name: float(value) for name, value in terms.items()}

    def evaluate(model):
        model.eval()
        with torch.no_grad():
            terms = compute_losses(model, batch, weight, label_sigma)
        metrics = {f"validation_{name}": float(value) for name, value in terms.items()}
        if with_repeatability:
            metrics["repeatability_2vox"] = repeatability(model, batch)
        return metrics

    return training_step, evaluate


@torch.no_grad()
def repeatability(model: SP3DNet, batch: dict, count: int = 100, tolerance: float = 2.0) -> float:
    """Share of view A's strongest keypoints (NMS radius 2 voxels) that view B finds again within `tolerance` voxels
    of where the motion takes them, among those that stay inside B."""
    model.eval()
    heat_a, heat_b = model(batch["volume_a"])["heatmap"], model(batch["volume_b"])["heatmap"]
    found, total = 0, 0
    for item in range(len(heat_a)):
        points_a, _ = find_peaks(heat_a[item, 0].numpy(), radius=2, max_count=count)
        points_b, _ = find_peaks(heat_b[item, 0].numpy(), radius=2, max_count=count)
        mapped = map_points(batch["a_to_b"][item].numpy(), points_a)
        shape = np.array(heat_a.shape[2:][::-1])
        inside = np.all((mapped >= 0) & (mapped <= shape - 1), axis=1)
        if not inside.any() or not len(points_b):
            continue
        distance = np.linalg.norm(mapped[inside, None] - points_b[None], axis=2).min(axis=1)
        found, total = found + int((distance <= tolerance).sum()), total + int(inside.sum())
    return found / max(total, 1)


@register_recipe("sp3d-shapes")
def sp3d_shapes_recipe(config: TrainConfig) -> Recipe:
    options = config.recipe_options
    size, shapes = int(options.get("size", 64)), int(options.get("shapes", 8))
    max_rotation, weight = float(options.get("max_rotation", 90.0)), float(options.get("descriptor_weight", 1.0))
    if size % 8:
        raise ValueError(f"recipe_options.size must be a multiple of 8, not {size}.")
    network = SP3DConfig()
    model = SP3DNet(network)
    steps = config.max_steps or 1000
    train = ShapePairs(steps * config.batch_size, config.seed, size, shapes, max_rotation)
    validation = ShapePairs(int(options.get("validation_pairs", 8)), config.seed + 10_000, size, shapes,
                            max_rotation)
    training_step, evaluate = _steps(validation, weight, with_repeatability=True,
                                     label_sigma=float(options.get("label_sigma", 0.0)))

    card = {
        "architecture": f"SP3DNet {network.to_dict()}",
        "input": {"channels": 1, "preprocessing": "intensities scaled to 0..1 per volume", "cell_voxels": 8},
        "training_data": (f"synthetic 3D shapes (boxes, pyramids, triangular prisms, stars with known corners; "
                          f"blobs without), {size}^3 voxels, {shapes} per volume, pairs under rotations up to "
                          f"{max_rotation:g} degrees, scale 0.9-1.1, shifts, gamma and noise. Stage 1 of SP3D only."),
        "network": network.to_dict(),
        "limits": "stage 1 (SP3D-pt): synthetic shapes only; not a model for real volumes",
    }
    return Recipe(model=model, train_data=train, training_step=training_step, evaluate=evaluate, model_card=card)


DATA_TERMS = ("TotalSegmentator test volumes: CC BY 4.0 (Wasserthal et al., Radiology: AI 2023); TCIA collections "
              "(Colorectal-Liver-Metastases CC BY 4.0, LIDC-IDRI CC BY 3.0, Lung-PET-CT-Dx CC BY 4.0, "
              "Breast-MRI-NACT-Pilot CC BY 3.0); IXI: CC BY-SA 3.0; other volumes-more/ files Apache-2.0, BSD-3 "
              "or MIT (../shared/data/README.md); MNI ICBM152 2009a template as shipped with nilearn (its "
              "copyright notice permits use with attribution). Cite the collections as their terms ask.")


@register_recipe("sp3d-volumes")
def sp3d_volumes_recipe(config: TrainConfig) -> Recipe:
    """SP3D's second stage: real volumes with pseudo-labels from the stage-1 detector (see sp3d/volumes.py).

    Options: data (folder with volumes/ and volumes-more/; default $KEYPOINT_DATA or ../shared/data), held_out
    (file names never trained on: the benchmark's), label_model and init (stage-1 weights), label_detector (a
    classical detector's name, e.g. "Hessian-3D", to make the pseudo-labels instead of label_model), warps
    (adaptation warps per volume, default 8), size (crop edge, default 64), spacing_mm (default 2), max_rotation
    (default 90), keypoints_per_crop (default 64), descriptor_weight (default 1.0), label_sigma (default 0).
    """
    import os
    from pathlib import Path

    from KeypointTraining.sp3d.adaptation import aggregated_heatmap, classical_detector, network_detector
    from KeypointTraining.sp3d.volumes import LabelledVolume, VolumePairs, load_working, volume_paths

    options = config.recipe_options
    data = Path(options.get("data") or os.environ.get("KEYPOINT_DATA") or
                Path(__file__).resolve().parents[5] / "shared" / "data")
    held_out = set(options.get("held_out", ()))
    paths = [path for path in volume_paths(data) if path.name not in held_out]
    if not paths:
        raise FileNotFoundError(f"No training volumes under {data}/volumes or volumes-more (held out: {held_out}).")
    network = SP3DConfig()
    model, label_model = SP3DNet(network), SP3DNet(network)
    for key, target in (("init", model), ("label_model", label_model)):
        if options.get(key):
            target.load_state_dict(torch.load(options[key], map_location="cpu", weights_only=True))
    # pseudo-labels from the stage-1 network (label_model), or from a classical detector (label_detector)
    labeller = (classical_detector(options["label_detector"]) if options.get("label_detector")
                else network_detector(label_model))
    rng = np.random.default_rng(config.seed)
    volumes = []
    for path in paths:
        working = load_working(path, float(options.get("spacing_mm", 2.0)))
        heatmap = aggregated_heatmap(labeller, working.array, rng, int(options.get("warps", 8)))
        volumes.append(LabelledVolume(path.name, working, heatmap))
        print(f"pseudo-labels: {path.name} {working.array.shape}")
    size, weight = int(options.get("size", 64)), float(options.get("descriptor_weight", 1.0))
    pair_options = dict(size=size, keypoints_per_crop=int(options.get("keypoints_per_crop", 64)),
                        max_rotation=float(options.get("max_rotation", 90.0)))
    train = VolumePairs(volumes, (config.max_steps or 1000) * config.batch_size, config.seed, **pair_options)
    validation = VolumePairs(volumes, 8, config.seed + 10_000, **pair_options)
    training_step, evaluate = _steps(validation, weight, with_repeatability=False,
                                     label_sigma=float(options.get("label_sigma", 0.0)))

    card = {
        "architecture": f"SP3DNet {network.to_dict()}",
        "input": {"channels": 1, "working_spacing_mm": float(options.get("spacing_mm", 2.0)),
                  "preprocessing": "isotropic working grid, 1st-99th percentile in the body scaled to 0..1"},
        "training_data": (f"{len(volumes)} real CT and MRI volumes ({', '.join(volume.name for volume in volumes)}); "
                          f"held out: {', '.join(sorted(held_out)) or 'none'}; pseudo-labels from "
                          f"{options.get('label_detector') or 'the stage-1 network'} aggregated over random warps; "
                          f"pairs under rotations up to {pair_options['max_rotation']:g} degrees, elastic deformation, "
                          "partial field of view, "
                          "thick slices, bias field, contrast and noise"),
        "network": network.to_dict(),
        "held_out": sorted(held_out),
        "data_terms": DATA_TERMS,
    }
    return Recipe(model=model, train_data=train, training_step=training_step, evaluate=evaluate, model_card=card)
