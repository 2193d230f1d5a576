"""A cardiac short-axis volume segmented by KAF-UNet: slices on the working grid -> SIFT keypoints -> the network in
batches -> class probabilities back onto the input's own slices -> MONAI post-processing -> labels, keypoints in RAS,
measurements and the quality flag."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from KeypointEngineLib.cardiac.keypoints import TRAINING_CROP, padded_batch, sift_keypoints
from KeypointEngineLib.cardiac.measurements import LV, MYO, RV, STRUCTURES, Quality, quality, structure_volumes_ml
from KeypointEngineLib.cardiac.network import KAFConfig, KAFUNet
from KeypointEngineLib.cardiac.parameters import SegmentOptions
from KeypointEngineLib.cardiac.preprocess import (
    THICK_SLICE_MM,
    SliceStack,
    shear_degrees,
    to_original_px,
    to_slices,
    to_volume,
)
from KeypointEngineLib.device import DeviceChoice, choose_device
from KeypointEngineLib.geometry import ras_from_ijk
from KeypointEngineLib.jobs import Job, as_job
from KeypointEngineLib.registry import ModelRegistry, default_registry


@dataclass
class CardiacSegmentation:
    labels: np.ndarray  # [k, j, i] uint8 on the input grid: 0 background, then STRUCTURES
    keypoints: np.ndarray  # (N, 3) RAS mm: the SIFT keypoints the KAF layers attended to (empty for the plain UNet)
    volumes_ml: dict[str, float]
    quality: Quality
    slice_axis: int
    warnings: list[str] = field(default_factory=list)


def postprocess(labels: np.ndarray, axis: int = 0) -> np.ndarray:
    """Each structure one piece (the left ventricle's: MONAI KeepLargestConnectedComponent, in 3D; the right
    ventricle's: the piece against the left ventricle) without holes (MONAI FillHoles, in each slice along `axis`).

    The right ventricle is kept by where it is, not by its size: other bright blood pools (atria, aorta, stomach)
    can outgrow it in the raw prediction, but only the right ventricle lies against the left ventricle's wall.
    Holes are filled slice by slice, innermost structure first (LV cavity, myocardium, RV), and only where they are
    background: MONAI's FillHoles gives a label everything it encloses, so a myocardium that closes around the
    cavity (an apical cap, a basal ring) would otherwise swallow the cavity.
    """
    from monai.transforms import FillHoles, KeepLargestConnectedComponent

    tensor = torch.from_numpy(labels.astype(np.int64))[None]
    kept = np.asarray(KeepLargestConnectedComponent(applied_labels=[MYO, LV], independent=True)(tensor)[0])
    kept = kept.astype(np.uint8)
    kept[(kept == RV) & ~_piece_beside(kept == RV, (kept == MYO) | (kept == LV), axis)] = 0
    result = np.moveaxis(kept, axis, 0).copy()
    for section in result:
        for value in sorted(STRUCTURES, reverse=True):  # LV cavity (3) inside myocardium (2); RV (1) last
            filled = np.asarray(FillHoles(applied_labels=[value])(torch.from_numpy(section.astype(np.int64))[None])[0])
            section[(filled == value) & (section == 0)] = value
    return np.moveaxis(result, 0, axis)


def _piece_beside(mask: np.ndarray, anchor: np.ndarray, axis: int, reach: int = 3) -> np.ndarray:
    """The connected piece of `mask` with the most voxels within `reach` in-plane voxels of `anchor` (the largest
    piece when none comes near)."""
    from scipy import ndimage

    pieces, count = ndimage.label(mask)
    if count <= 1:
        return mask
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = True  # in-plane only: slices are far apart
    structure = np.moveaxis(structure, 0, axis)
    near = ndimage.binary_dilation(anchor, structure, iterations=reach)
    touching = np.bincount(pieces[near & mask], minlength=count + 1)[1:]
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)[1:]
    best = int(np.argmax(touching if touching.any() else sizes)) + 1
    return pieces == best


def stack_warnings(stack: SliceStack, ijk_to_ras: np.ndarray) -> list[str]:
    warnings = []
    if shear_degrees(ijk_to_ras) > 1.0:
        warnings.append(f"the voxel axes are {shear_degrees(ijk_to_ras):.1f} degrees from perpendicular (sheared "
                        "orientation metadata): the labels follow the voxels, but check the header")
    if stack.spacing_mm[0] > THICK_SLICE_MM:
        warnings.append(f"slices are {stack.spacing_mm[0]:.1f} mm apart (over {THICK_SLICE_MM:g} mm): volumes and "
                        "ejection fractions are less accurate")
    if len(stack.images) < 3:
        warnings.append(f"only {len(stack.images)} slices: a short-axis stack covers the ventricles in 6-20")
    return warnings


class CardiacSegmenter:
    """`segment(array, ijk_to_ras, options, job) -> CardiacSegmentation` with a shipped model ("kaf-unet", "unet")
    or a given network (training, tests)."""

    def __init__(self, model: str = "kaf-unet", device: str | DeviceChoice | None = None,
                 registry: ModelRegistry | None = None, network: KAFUNet | None = None):
        self.device = device if isinstance(device, DeviceChoice) else choose_device(device)
        if network is None:
            state, self.card = (registry or default_registry()).load_state_dict(model, self.device.device)
            network = KAFUNet(KAFConfig.from_dict(self.card.extra["network"]))
            network.load_state_dict(state)
        self.network = network.to(self.device.device).eval()

    @torch.inference_mode()
    def probabilities(self, stack: SliceStack, options: SegmentOptions, job: Job | None = None):
        """((Z, C, H, W) softmax on the working slices, [per-slice (N, 2) keypoints in working px])."""
        job = as_job(job)
        fused = self.network.config.keypoint_fusion
        height, width = stack.working_shape
        # as dense as in training (`keypoints` per 128² crop), on the slice itself, not its zero padding
        count = max(int(round(options.keypoints * height * width / TRAINING_CROP ** 2)), options.keypoints)
        keypoints = [sift_keypoints(image[:height, :width], count) if fused else np.zeros((0, 2), np.float32)
                     for image in stack.images]
        outputs, count = [], len(stack.images)
        for start in job.steps("Segmenting slices", range(0, count, options.batch_slices),
                               -(-count // options.batch_slices)):
            batch = slice(start, start + options.batch_slices)
            images = torch.from_numpy(stack.images[batch])[:, None].to(self.device.device)
            points, padding = padded_batch(keypoints[batch])
            logits = self.network(images, points.to(images.device), padding.to(images.device))["logits"]
            outputs.append(torch.softmax(logits.float(), dim=1).cpu())
        return torch.cat(outputs), keypoints

    def segment(self, array: np.ndarray, ijk_to_ras: np.ndarray, options: SegmentOptions | None = None,
                job: Job | None = None) -> CardiacSegmentation:
        """Labels of the short-axis stack `array` [k, j, i] placed by `ijk_to_ras`, on that same grid."""
        job = as_job(job)
        options = (options or SegmentOptions()).check()
        job.report("Preparing slices", 0.0)
        stack = to_slices(array, ijk_to_ras, options.spacing_mm)
        probabilities, keypoints = self.probabilities(stack, options, job.scaled(0.05, 0.9))
        raw = to_volume(probabilities, stack)
        job.report("Post-processing", 0.9)
        labels = postprocess(raw, stack.axis) if options.postprocess else raw
        job.report("Post-processing", 1.0)
        return CardiacSegmentation(labels, keypoints_in_ras(keypoints, stack, ijk_to_ras),
                                   structure_volumes_ml(labels, ijk_to_ras),
                                   quality(labels, ijk_to_ras, stack.axis, raw), stack.axis,
                                   stack_warnings(stack, ijk_to_ras))


def keypoints_in_ras(keypoints: list[np.ndarray], stack: SliceStack, ijk_to_ras: np.ndarray) -> np.ndarray:
    """Per-slice working-px keypoints -> (N, 3) RAS mm on the input's slices."""
    points = []
    for index, found in enumerate(keypoints):
        if not len(found):
            continue
        x, y = to_original_px(found, stack).T  # along the slice's last and first in-plane axes
        indices = np.zeros((len(found), 3))  # [k, j, i] array order, then reversed to (i, j, k)
        other = [a for a in range(3) if a != stack.axis]
        indices[:, stack.axis], indices[:, other[0]], indices[:, other[1]] = index, y, x
        points.append(indices[:, ::-1])
    if not points:
        return np.zeros((0, 3))
    return ras_from_ijk(np.concatenate(points), ijk_to_ras)
