"""The `retina-keypoints` recipe: RetinaKeypointNet trained on synthetic pairs of real fundus photographs.

Recipe options (config `recipe_options`, or `--set recipe_options.NAME=VALUE`):
  data                  folder with fundus/CHASEDB1 and fundus/DRIVE/training (default: ../shared/data)
  working_size          px spanned by a 45° field of view (default 768, as at inference)
  patch                 training crop size (default 192)
  keypoint_attention    Retinal IPA keypoint-augmented layer + token contrastive loss (default true)
  vessel_branch         Retinal IPA vessel segmentation branch prompted by the heatmap (default true)
  heatmap_labels        supervise repeatability with keypoint heatmaps (default true)
  camera_apertures      crops inside the field of view, each view with its own aperture rim (default false)
  geometry              "warp" (view B a warp of A's crop; default) or "eye" (another photograph of the eye, by the
                        benchmark's eye model)
  angiogram_share       share of samples from the real angiograms that may train (fundus-modalities/fa; default 0:
                        photographs only), real angiogram pairs under the same geometry
  mode_probabilities    {mode: weight} of the photographs' view changes (angiography, infrared, oct_enface,
                        appearance, colour; default 0.35/0.1/0.1/0.2/0.25)
  label_model           weights of a previous round: its detections join the labels (iterative rounds)
  init                  weights to start from (usually the previous round's)
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from KeypointEngineLib.blocks.peaks import heatmap_peaks
from KeypointEngineLib.blocks.sampling import sample_at
from KeypointEngineLib.retina.network import NetworkConfig, RetinaKeypointNet
from KeypointTraining.config import TrainConfig
from KeypointTraining.recipes import Recipe, register_recipe
from KeypointTraining.retina import losses
from KeypointTraining.retina.data import RetinaPairs, angiogram_sources, load_image, training_sources

WEIGHTS = {"ap": 1.0, "repeatability": 1.0, "heatmap": 1.0, "vessels": 0.5, "contrastive": 0.2}


def default_data_folder() -> Path:
    return Path(os.environ.get("KEYPOINT_DATA", Path(__file__).resolve().parents[5] / "shared" / "data"))


def attention_points(labels_b, valid, flow, count: int):
    """Corresponding points for the attention layer: label peaks in B (then random valid points), and where they
    fall in A through the flow."""
    score = labels_b * valid + 1e-3 * torch.rand_like(valid) * valid
    points_b = heatmap_peaks(score, count, radius=2)
    index = points_b.long()
    points_a = torch.stack([flow[b, index[b, :, 1], index[b, :, 0]] for b in range(len(flow))])
    return points_a, points_b


def compute_losses(model: RetinaKeypointNet, batch: dict, options: dict) -> dict[str, torch.Tensor]:
    valid, flow = batch["valid"], batch["flow"]
    points = (attention_points(batch["keypoints_b"], valid, flow, model.config.attention_keypoints)
              if model.config.keypoint_attention else (None, None))
    out_a = model(batch["image_a"], attention_points=points[0])
    out_b = model(batch["image_b"], attention_points=points[1])
    terms = {
        "ap": losses.ap_reliability_loss(out_a["descriptors"], out_b["descriptors"], out_b["reliability"], flow,
                                         valid),
        "repeatability": losses.repeatability_loss(out_a["repeatability"], out_b["repeatability"], flow, valid),
    }
    if options.get("heatmap_labels", True):
        terms["heatmap"] = 0.5 * (losses.heatmap_loss(out_a["repeatability"], batch["keypoints_a"], batch["fov_a"])
                                  + losses.heatmap_loss(out_b["repeatability"], batch["keypoints_b"], batch["fov_b"]))
    if "vessels" in out_a:
        terms["vessels"] = losses.vessel_loss(out_a["vessels"], out_b["vessels"], batch["vessels_a"],
                                              batch["vessels_b"], batch["fov_a"], batch["fov_b"], flow, valid)
    if "tokens" in out_a:
        terms["contrastive"] = losses.token_contrastive_loss(out_a["tokens"], out_b["tokens"])
    return terms


def matching_accuracy(model: RetinaKeypointNet, batch: dict, tolerance_px: float = 4.0) -> float:
    """Share of grid queries in B whose nearest descriptor among A's grid lies within `tolerance_px` of the truth."""
    out_a, out_b = model(batch["image_a"]), model(batch["image_b"])
    step, size = 8, batch["image_a"].shape[-1]
    coords = torch.arange(step // 2, size, step, dtype=torch.float32)
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    grid = torch.stack([xs.flatten(), ys.flatten()], dim=-1)
    hits, total = 0, 0
    for b in range(len(batch["flow"])):
        keep = batch["valid"][b, 0, grid[:, 1].long(), grid[:, 0].long()] > 0
        queries = grid[keep]
        truth = batch["flow"][b, queries[:, 1].long(), queries[:, 0].long()]
        d_b = sample_at(out_b["descriptors"][b:b + 1], queries[None], 4)[0]
        d_a = sample_at(out_a["descriptors"][b:b + 1], grid[None], 4)[0]
        nearest = grid[(d_b @ d_a.T).argmax(dim=1)]
        hits += int(((nearest - truth).norm(dim=1) <= tolerance_px).sum())
        total += len(queries)
    return hits / max(total, 1)


@register_recipe("retina-keypoints")
def retina_keypoints_recipe(config: TrainConfig) -> Recipe:
    options = config.recipe_options
    data = Path(options.get("data", default_data_folder()))
    working_size, patch = int(options.get("working_size", 768)), int(options.get("patch", 192))
    share = float(options.get("angiogram_share", 0.0))
    sources = training_sources(data) + (angiogram_sources(data) if share > 0 else [])
    images = [load_image(*source, working_size) for source in sources]
    if options.get("label_model"):
        from KeypointTraining.retina.rounds import add_detections_to_labels

        add_detections_to_labels(images, Path(options["label_model"]))
    network = NetworkConfig(keypoint_attention=bool(options.get("keypoint_attention", True)),
                            vessel_branch=bool(options.get("vessel_branch", True)))
    model = RetinaKeypointNet(network)
    if options.get("init"):
        state = torch.load(options["init"], map_location="cpu", weights_only=True)
        print(f"init from {options['init']}: {model.load_state_dict(state, strict=False)}")
    apertures = bool(options.get("camera_apertures", False))
    geometry = str(options.get("geometry", "warp"))
    modes = options.get("mode_probabilities")
    train = RetinaPairs(images, patch=patch, seed=config.seed, camera_apertures=apertures, geometry=geometry,
                        angiogram_share=share, mode_probabilities=modes)
    validation = RetinaPairs(images, length=16, patch=patch, seed=config.seed + 10_000, camera_apertures=apertures,
                             geometry=geometry, angiogram_share=share, mode_probabilities=modes)
    validation_batch = torch.utils.data.default_collate([validation[i] for i in range(len(validation))])

    def training_step(model, batch):
        terms = compute_losses(model, batch, options)
        total = sum(WEIGHTS[name] * value for name, value in terms.items())
        return total, {name: float(value) for name, value in terms.items()}

    def evaluate(model):
        terms = compute_losses(model, validation_batch, options)
        return {"matching_accuracy_4px": matching_accuracy(model, validation_batch),
                **{f"validation_{name}": float(value) for name, value in terms.items()}}

    card = {
        "architecture": f"RetinaKeypointNet {network.to_dict()}",
        "input": {"channels": 1, "preprocessing": "green channel (luminance for grey), field-of-view mask, CLAHE",
                  "working_size_px_per_45_degrees": working_size, "descriptor_stride": 4},
        "training_data": (f"{len(images)} real colour fundus photographs with manual vessel masks (CHASE_DB1, 30° "
                          "field of view; DRIVE training/, 45°) as synthetic pairs: warps, modality simulation "
                          "(angiography, infrared, OCT en-face), lesions, illumination, blur, colour. DRIVE testing/ "
                          "and scikit-image's retina are never trained on (benchmark only)."),
        "network": network.to_dict(),
        "limits": "trained on 48 photographs only; real angiography/OCT never seen (simulated modalities)",
    }
    return Recipe(model=model, train_data=train, training_step=training_step, evaluate=evaluate, model_card=card)
