"""Training pairs from real colour fundus photographs with manual vessel masks (CHASE_DB1, DRIVE training/), and
optionally from real angiograms (vessel masks found from the image; their pairs stay angiograms).

Each sample is two 192-px views of one photograph at the working scale (a 45° field of view spans 768 px): view A
under a random similarity (scale, any rotation; crops at least 70 % inside the field of view), view B under a further
random warp (rotation, scale, shift, tilt, second-order curvature; at least half of it overlapping A inside the
field of view). One view is changed in appearance or modality: simulated fluorescein angiography, infrared/SLO, OCT
en-face, lesions with uneven illumination and blur, or another exposure and colour (HSV-like jitter). Targets: the
flow from B to A, validity masks, vessel masks and keypoint heatmaps in both views.

With `geometry="eye"`, view B is not a warp of A's crop but a crop of another photograph of the same eye, as the
benchmark's eye model makes it (KeypointEvaluationLib/retina/eye_model.py: a curved retina seen through the pupil,
the eye turned about its centre of rotation, the camera offset in the pupil), turned and scaled a little against A.

With `camera_apertures`, crops stay inside the photograph's field of view and each view gets its own aperture rim
(half the views, a disc fixed to the crop): a real camera's rim stays with the camera while the retina moves, so
the network must not learn to match rims, which warping the photograph's own rim with the retina would teach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import SimpleITK as sitk
import torch
from skimage.io import imread  # GIF masks (DRIVE), which SimpleITK does not read

from KeypointEngineLib.retina.field_of_view import field_diameter, field_of_view_mask
from KeypointEngineLib.retina.preprocess import REFERENCE_FOV_DEGREES, enhance, to_gray
from KeypointEvaluationLib.retina import appearance, eye_model
from KeypointEvaluationLib.retina.eye_pairs import PUPIL_OFFSET_MM, RECENTRING, TORSION_DEGREES, source_view
from KeypointEvaluationLib.retina.synthetic_warps import random_warp
from KeypointTraining.retina.labels import gaussian_heatmap, vessel_junctions

MODES = ("angiography", "infrared", "oct_enface", "appearance", "colour")
MODE_PROBABILITIES = (0.35, 0.1, 0.1, 0.2, 0.25)
APERTURE_PROBABILITY = 0.5  # per view, with camera_apertures
APERTURE_RADIUS_PATCHES = (0.7, 2.5)  # rim curvature: a 45° field of view (or 0.55 of it) seen at scales 0.8-1.6
GEOMETRIES = ("warp", "eye")
EYE_GAZE_FIELDS = 0.35  # view B looks up to this share of the field of view away from the photograph's centre


@dataclass
class RetinaImage:
    name: str
    rgb: np.ndarray  # uint8, at working scale
    vessels: np.ndarray  # uint8 0/1
    fov: np.ndarray  # uint8 0/1
    keypoints: np.ndarray  # float32 heatmap labels in [0, 1]
    fov_degrees: float = 45.0  # the camera's field of view
    angiogram: bool = False  # a real angiogram: both views stay angiograms (another exposure only)


def training_sources(data: Path) -> list[tuple[str, Path, Path, float]]:
    """(name, image, vessel mask, field of view in degrees) for CHASE_DB1 and DRIVE training/ under `data`."""
    sources = []
    chase = data / "fundus" / "CHASEDB1"
    for image in sorted(chase.glob("Image_*.jpg")):
        sources.append((image.stem, image, image.with_name(f"{image.stem}_1stHO.png"), 30.0))
    drive = data / "fundus" / "DRIVE" / "training"
    for image in sorted((drive / "images").glob("*_training.tif")):
        number = image.name.split("_")[0]
        sources.append((image.stem, image, drive / "1st_manual" / f"{number}_manual1.gif", 45.0))
    if not sources:
        raise FileNotFoundError(f"No CHASE_DB1 or DRIVE training images under {data / 'fundus'}.")
    return sources


def angiogram_sources(data: Path) -> list[tuple[str, Path, None, float]]:
    """(name, image, no vessel mask, field of view) for the real angiograms that may train (the rest are held out
    for the benchmark and the real checks; KeypointEvaluationLib/retina/angiograms.py). Their field of view is not
    recorded: 45°, the usual."""
    from KeypointEvaluationLib.retina.angiograms import training_angiograms

    return [(path.stem, path, None, 45.0) for path in training_angiograms(data)]


def angiogram_vessels(gray: np.ndarray, fov: np.ndarray) -> np.ndarray:
    """uint8 0/1 vessel mask of an angiogram, where no manual one exists: vessels are its bright thin structures
    (white top-hat wider than the widest vessel, Otsu's threshold inside the field of view, specks removed)."""
    size = max(gray.shape)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(size * 0.03) | 1,) * 2)
    top_hat = cv2.morphologyEx(cv2.GaussianBlur(gray, (0, 0), 1.0), cv2.MORPH_TOPHAT, kernel)
    threshold, _ = cv2.threshold(top_hat[fov > 0].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    vessels = ((top_hat > threshold) & (fov > 0)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(vessels)
    large = np.r_[False, stats[1:, cv2.CC_STAT_AREA] >= (size / 100) ** 2]
    return large[labels].astype(np.uint8)


def load_image(name: str, image_path: Path, mask_path: Path | None, fov_degrees: float,
               working_size: int) -> RetinaImage:
    """A training photograph with its manual vessel mask, or (`mask_path` None) a real angiogram, whose vessel mask
    is found from the image (angiogram_vessels)."""
    rgb = sitk.GetArrayFromImage(sitk.ReadImage(str(image_path)))
    rgb = np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb[..., :3]  # SimpleITK reads LZW TIFFs too
    fov = field_of_view_mask(to_gray(rgb)) > 0
    if mask_path is None:
        vessels = angiogram_vessels(to_gray(rgb), fov)
    else:
        mask = np.squeeze(np.asarray(imread(mask_path)))  # CHASE_DB1: bool PNG; DRIVE: one-frame GIF of 0/255
        if mask.ndim == 3:
            mask = mask[..., 0]
        vessels = (mask.astype(np.float32) > mask.max() / 2).astype(np.uint8)
    diameter = field_diameter(fov)
    scale = working_size * fov_degrees / REFERENCE_FOV_DEGREES / diameter
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    vessels = cv2.resize(vessels, size, interpolation=cv2.INTER_NEAREST)
    fov = cv2.resize(fov.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    keypoints = gaussian_heatmap(vessel_junctions(vessels), vessels.shape)
    return RetinaImage(name, rgb, vessels, fov, keypoints, fov_degrees, angiogram=mask_path is None)


def mode_weights(probabilities: dict[str, float] | None) -> np.ndarray:
    """MODES' probabilities from {mode: weight} (modes left out get 0), normalised; the default without it."""
    if probabilities is None:
        return np.array(MODE_PROBABILITIES)
    unknown = set(probabilities) - set(MODES)
    if unknown or not probabilities or min(probabilities.values()) < 0 or sum(probabilities.values()) <= 0:
        raise ValueError(f"mode_probabilities takes non-negative weights of {', '.join(MODES)}, not {probabilities}.")
    weights = np.array([float(probabilities.get(mode, 0.0)) for mode in MODES])
    return weights / weights.sum()


def _remap(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray], nearest: bool = False) -> np.ndarray:
    return cv2.remap(image, maps[0], maps[1], cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT)


def _view(rgb: np.ndarray, fov: np.ndarray, mode: str, rng: np.random.Generator) -> np.ndarray:
    """The network's input for one view of the whole image (uint8 grey, contrast-enhanced as at inference)."""
    if mode in appearance.MODALITIES:
        changed = appearance.MODALITIES[mode](rgb, rng)
    elif mode == "appearance":
        changed = appearance.lesions(rgb, rng, count=int(rng.integers(4, 16)))
        changed = appearance.illumination_falloff(changed, rng, strength=0.6)
        changed = appearance.photometric(appearance.blur(changed, rng.uniform(0.0, 0.002)), rng, amount=1.0)
    else:
        changed = appearance.photometric(rgb, rng, amount=1.0)
    return enhance(to_gray(changed), fov)


class RetinaPairs(torch.utils.data.Dataset):
    """A long, deterministic stream of training pairs: sample `index` is always the same (resumable)."""

    def __init__(self, images: list[RetinaImage], length: int = 1_000_000, patch: int = 192, seed: int = 0,
                 camera_apertures: bool = False, geometry: str = "warp", angiogram_share: float = 0.0,
                 mode_probabilities: dict[str, float] | None = None):
        """`angiogram_share`: the share of samples drawn from the real angiograms among `images` (the rest from the
        photographs; each group uniformly); 0 draws every image alike. `mode_probabilities`: how often each of MODES
        changes a photograph's view (default MODE_PROBABILITIES; normalised)."""
        if geometry not in GEOMETRIES:
            raise ValueError(f"Unknown training geometry {geometry!r}; choose from {', '.join(GEOMETRIES)}.")
        self.images, self.length, self.patch, self.seed = images, length, patch, seed
        self.mode_probabilities = mode_weights(mode_probabilities)
        angiogram = np.array([image.angiogram for image in images])
        self.weights = None
        if angiogram_share > 0 and angiogram.any() and not angiogram.all():
            self.weights = np.where(angiogram, angiogram_share / angiogram.sum(),
                                    (1 - angiogram_share) / (~angiogram).sum())
        self.camera_apertures, self.geometry = camera_apertures, geometry
        # where crop centres may fall, per image; with camera apertures, clear of the photograph's own rim (it moves
        # with the retina): the field of view eroded by half a crop
        margin = np.ones((patch + 1, patch + 1), np.uint8) if camera_apertures else np.ones((1, 1), np.uint8)
        self.crop_centres = [np.nonzero(cv2.erode(image.fov, margin)) for image in images]
        self.rest_views = [source_view(image.rgb, image.fov_degrees)[0] for image in images]  # the eye at rest

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        image_index = rng.choice(len(self.images), p=self.weights) if self.weights is not None else rng.integers(
            len(self.images))
        image = self.images[image_index]
        mode = rng.choice(MODES, p=self.mode_probabilities)
        if image.angiogram:  # real angiographic appearance: no simulated modality on top of it
            mode = "colour"
        changed_view = rng.integers(2)
        views = [_view(image.rgb, image.fov, mode if changed_view == v else "colour", rng) for v in range(2)]
        maps_a, maps_b, flow = self._geometry(image, self.crop_centres[image_index], self.rest_views[image_index],
                                              rng)
        sample = {}
        for name, maps, view in (("a", maps_a, views[0]), ("b", maps_b, views[1])):
            pixels, fov = _remap(view, maps), _remap(image.fov, maps, nearest=True)
            if self.camera_apertures and rng.random() < APERTURE_PROBABILITY:
                fov = fov & self._aperture(rng)
                pixels = pixels * fov
            sample[f"image_{name}"] = pixels.astype(np.float32)[None] / 255.0
            sample[f"fov_{name}"] = fov.astype(np.float32)[None]
            sample[f"vessels_{name}"] = _remap(image.vessels, maps, nearest=True).astype(np.float32)[None]
            sample[f"keypoints_{name}"] = _remap(image.keypoints, maps)[None]
        sample["flow"] = flow  # (H, W, 2): for each B pixel, its (x, y) in A
        inside = ((flow[..., 0] >= 0) & (flow[..., 0] <= self.patch - 1) & (flow[..., 1] >= 0)
                  & (flow[..., 1] <= self.patch - 1))
        valid = inside & (sample["fov_b"][0] > 0)
        if self.camera_apertures:  # A's own rim, which no longer coincides with B's
            valid &= cv2.remap(sample["fov_a"][0], flow[..., 0], flow[..., 1], cv2.INTER_NEAREST) > 0
        sample["valid"] = valid.astype(np.float32)[None]
        return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in sample.items()}

    def _aperture(self, rng: np.random.Generator) -> np.ndarray:
        """uint8 0/1 disc fixed to the crop whose rim crosses it, the crop's centre inside."""
        patch = self.patch
        radius = rng.uniform(*APERTURE_RADIUS_PATCHES) * patch
        angle = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)])
        rim_distance = rng.uniform(0.15, 0.9) * patch / 2  # from the crop's centre, along `direction`
        centre = (patch - 1) / 2 + (rim_distance - radius) * direction
        y, x = np.mgrid[0:patch, 0:patch]
        return (((x - centre[0]) ** 2 + (y - centre[1]) ** 2) <= radius**2).astype(np.uint8)

    def _geometry(self, image: RetinaImage, crop_centres: tuple[np.ndarray, np.ndarray], rest: eye_model.EyeView,
                  rng: np.random.Generator):
        patch = self.patch
        y, x = np.mgrid[0:patch, 0:patch].astype(np.float64)
        grid = np.c_[x.ravel(), y.ravel()]
        ys, xs = crop_centres
        min_coverage = 0.99 if self.camera_apertures else 0.7
        for _ in range(100):
            # view A: crop px -> image px, a similarity around a centre inside the field of view
            index = rng.integers(len(xs))
            centre = np.array([xs[index], ys[index]], dtype=np.float64)
            angle, scale = rng.uniform(0, 2 * np.pi), rng.uniform(0.8, 1.6)
            rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            to_image_a = (grid - (patch - 1) / 2) @ rotation.T + centre
            maps_a = tuple(to_image_a[:, i].reshape(patch, patch).astype(np.float32) for i in range(2))
            if _remap(image.fov, maps_a, nearest=True).mean() < min_coverage:
                continue
            if self.geometry == "eye":
                to_image_b = self._eye_view_b(rest, centre, rotation, grid, rng)
                flow = (to_image_b - centre) @ np.linalg.inv(rotation).T + (patch - 1) / 2
                to_image_b, flow = np.nan_to_num(to_image_b, nan=-1e6), np.nan_to_num(flow, nan=-1e6)
            else:  # view B: crop-B px -> crop-A px (the flow), then on to image px like A
                warp = random_warp((patch, patch), rng, rotation_degrees=20, scale=(0.8, 1.25), shift=(0.0, 0.2),
                                   tilt=0.05, curvature=0.05)
                flow = warp.moving_to_fixed(grid)
                to_image_b = (flow - (patch - 1) / 2) @ rotation.T + centre
            maps_b = tuple(to_image_b[:, i].reshape(patch, patch).astype(np.float32) for i in range(2))
            inside = np.all((flow >= 0) & (flow <= patch - 1), axis=1).reshape(patch, patch)
            fov_b = _remap(image.fov, maps_b, nearest=True) > 0
            if (inside & fov_b).mean() >= 0.5 and fov_b.mean() >= min_coverage:
                return maps_a, maps_b, flow.reshape(patch, patch, 2).astype(np.float32)
        raise RuntimeError(f"Could not draw an overlapping training pair from {image.name}.")

    def _eye_view_b(self, rest: eye_model.EyeView, centre: np.ndarray, rotation: np.ndarray, grid: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        """Image px (of the photograph, the eye at rest) that each px of B's crop sees: B is a crop of another
        photograph of the eye, about where A's centre appears in it, turned by up to 20° and scaled by 0.8-1.25."""
        radius, angle = PUPIL_OFFSET_MM * np.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
        turned = eye_model.EyeView(
            eye_model.rotation(rng.uniform(0, EYE_GAZE_FIELDS) * rest.field_of_view_degrees, rng.uniform(0, 2 * np.pi),
                               rng.uniform(-TORSION_DEGREES, TORSION_DEGREES)),
            (radius * np.cos(angle), radius * np.sin(angle)), rest.field_of_view_degrees, rest.aperture_centre_px,
            rest.aperture_diameter_px, recentring=rng.uniform(*RECENTRING))
        eye = eye_model.random_eye(rng)
        seen_at = eye_model.EyeWarp(eye, rest, turned).moving_to_fixed(centre[None])[0]
        shift = rng.uniform(-0.2, 0.2, 2) * self.patch
        turn, scale = np.deg2rad(rng.uniform(-20, 20)), rng.uniform(0.8, 1.25)
        relative = scale * np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        in_turned = (grid - (self.patch - 1) / 2) @ (rotation @ relative).T + seen_at + shift
        return eye_model.EyeWarp(eye, turned, rest).moving_to_fixed(in_turned)
