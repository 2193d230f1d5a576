"""The benchmark's pairs of volumes, each with its true transform (fixed RAS -> moving RAS).

Synthetic pairs follow how a second scan of a patient arises: the anatomy repositioned (rotation about an axis
uniform on the sphere, by an angle in a bin of 0-90 degrees, about the volume's centre, and a 30 mm shift), scanned on
the scanner's own grid (the moving volume is resampled on the fixed one's grid, so the anatomy turns against the
voxel axes as in a real repositioning), with another slice coverage (a share of the slices cut away at one end).
Outside what the scanner reconstructed holds the volume's padding value. Real pairs share their geometry (knee echoes,
breast DCE phases) or are placed by their headers (IXI002 T1/T2); they are also taken under added rigid motions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy.spatial.transform import Rotation

from KeypointEngineLib.geometry import RAS_FROM_LPS
from KeypointEngineLib.volume.preprocess import from_image, to_image

# whole volumes no training run sees, one per anatomy (Testing/Training/configs/sp3d-volumes.json, tested equal)
HELD_OUT = ("ct_abdomen_3mm.nii.gz", "ct_chest_1p5mm_lidc0314.nii.gz", "mr_brain_t2_IXI002.nii.gz",
            "mr_breast_dce_UCSF-BR-06_phase2.nii.gz", "mr_cardiac_thorax_seg3d.nii.gz", "mr_head_t1_mne_sample.nii.gz",
            "mr_knee_t2_echo8.nii.gz")
# real pairs of volumes-more/: fixed, moving (the second of each is held out)
REAL_PAIRS = (("mr_knee_t2_echo1.nii.gz", "mr_knee_t2_echo8.nii.gz"),
              ("mr_breast_dce_UCSF-BR-06_phase0.nii.gz", "mr_breast_dce_UCSF-BR-06_phase2.nii.gz"),
              ("mr_brain_t1_IXI002.nii.gz", "mr_brain_t2_IXI002.nii.gz"))
ANGLE_BINS = tuple((start, start + 15) for start in range(0, 90, 15))
SHIFT_MM = 30.0
CUT = 0.3


@dataclass(frozen=True)
class Volume:
    array: np.ndarray  # [k, j, i]
    ijk_to_ras: np.ndarray


@dataclass(frozen=True)
class CaseSpec:
    """What a pair is made of; `make_case` builds it (volumes are large: one pair in memory at a time)."""

    name: str
    group: str  # "rotation" (held-out volume, moved), "cut" (field-of-view sweep), "real" or "unrelated"
    fixed: str  # file name
    moving: str  # file name (the same as fixed for synthetic pairs)
    angle: float  # degrees of the added rotation
    cut: float  # share of the moving volume's slices cut away
    seed: int


@dataclass
class Case:
    spec: CaseSpec
    fixed: Volume
    moving: Volume
    fixed_to_moving: np.ndarray | None  # 4x4, RAS mm: where a fixed point lies in the moving volume; None: unrelated


def find_volume(data: Path, name: str) -> Path:
    for folder in ("volumes", "volumes-more"):
        if (data / folder / name).is_file():
            return data / folder / name
    raise FileNotFoundError(f"{name} is not in {data}/volumes or {data}/volumes-more.")


def case_specs(data: Path, pairs_per_bin: int, seed: int, cuts: tuple[float, ...] = (0.0, 0.15, 0.3, 0.45),
               pairs_per_cut: int = 0, real_motions: int = 2, unrelated: int = 3) -> list[CaseSpec]:
    """Rotation bins (held-out volumes in turn, 30 mm shift, 30 % cut), a field-of-view sweep (angle 0-90), the
    real pairs as they are and under `real_motions` added motions each, and `unrelated` pairs of two different
    held-out volumes (no right answer: a confident result there is a wrong one)."""
    volumes = [name for name in HELD_OUT if _exists(data, name)]
    specs = []
    for low, high in ANGLE_BINS:
        for index in range(pairs_per_bin if volumes else 0):
            rng = np.random.default_rng([seed, low, index])
            name = volumes[index % len(volumes)]
            specs.append(CaseSpec(f"{Path(name).stem.removesuffix('.nii')} {low}-{high}deg #{index}", "rotation",
                                  name, name, float(rng.uniform(low, high)), CUT, int(rng.integers(1 << 31))))
    for cut in cuts:
        for index in range(pairs_per_cut if volumes else 0):
            rng = np.random.default_rng([seed, 1000 + int(100 * cut), index])
            name = volumes[index % len(volumes)]
            specs.append(CaseSpec(f"{Path(name).stem.removesuffix('.nii')} cut {cut:.0%} #{index}", "cut", name, name,
                                  float(rng.uniform(0, 90)), cut, int(rng.integers(1 << 31))))
    for number, (fixed, moving) in enumerate(REAL_PAIRS):
        if not (_exists(data, fixed) and _exists(data, moving)):
            continue
        for index in range(real_motions + 1):
            rng = np.random.default_rng([seed, 2000 + number, index])
            angle = 0.0 if index == 0 else float(rng.uniform(0, 90))
            label = f"{fixed.split('.')[0]} / {moving.split('.')[0]}" + (f" + {angle:.0f}deg" if index else "")
            specs.append(CaseSpec(label, "real", fixed, moving, angle, 0.0, int(rng.integers(1 << 31))))
    for index in range(min(unrelated, len(volumes) - 1) if len(volumes) > 1 else 0):
        fixed, moving = volumes[index], volumes[(index + 1 + index % (len(volumes) - 1)) % len(volumes)]
        specs.append(CaseSpec(f"{fixed.split('.')[0]} / {moving.split('.')[0]} (unrelated)", "unrelated", fixed,
                              moving, 0.0, 0.0, index))
    return specs


def _exists(data: Path, name: str) -> bool:
    try:
        find_volume(data, name)
        return True
    except FileNotFoundError:
        return False


def read_volume(path: Path) -> Volume:
    array, ijk_to_ras = from_image(sitk.ReadImage(str(path), sitk.sitkFloat32))
    return Volume(array, ijk_to_ras)


def make_case(spec: CaseSpec, data: Path) -> Case:
    fixed = read_volume(find_volume(data, spec.fixed))
    moving = fixed if spec.moving == spec.fixed else read_volume(find_volume(data, spec.moving))
    rng = np.random.default_rng(spec.seed)
    motion = np.eye(4)
    if spec.angle or spec.group not in ("real", "unrelated"):
        motion = repositioning(rng, spec.angle, SHIFT_MM if spec.group != "real" else 0.0, _centre(moving))
    moved = move_and_rescan(moving, motion, rng, spec.cut)
    # fixed -> moving(as read) is the identity for every pair here (same scan, or real pairs placed by geometry)
    return Case(spec, fixed, moved, None if spec.group == "unrelated" else motion)


def repositioning(rng: np.random.Generator, angle_degrees: float, shift_mm: float, centre: np.ndarray) -> np.ndarray:
    """4x4 RAS: a rotation by `angle_degrees` about an axis uniform on the sphere through `centre`, then a shift of
    `shift_mm` in a direction uniform on the sphere."""
    axis = Rotation.random(random_state=rng).apply([0, 0, 1.0])
    rotation = Rotation.from_rotvec(axis * np.deg2rad(angle_degrees)).as_matrix()
    direction = Rotation.random(random_state=rng).apply([1.0, 0, 0])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = centre - rotation @ centre + shift_mm * direction
    return matrix


def _centre(volume: Volume) -> np.ndarray:
    corner = np.array(volume.array.shape[::-1], dtype=np.float64) - 1
    return (volume.ijk_to_ras @ np.append(corner / 2, 1.0))[:3]


def move_and_rescan(volume: Volume, motion: np.ndarray, rng: np.random.Generator, cut: float) -> Volume:
    """`volume`'s anatomy moved by `motion` (RAS), resampled on the volume's own grid less `cut` of its slices (the
    axis of the thickest voxels, at a random end); padding value where nothing was seen."""
    array, ijk_to_ras = volume.array, volume.ijk_to_ras.copy()
    spacing = np.linalg.norm(ijk_to_ras[:3, :3], axis=0)
    axis = 2 - int(np.argmax(spacing[::-1]))  # i, j or k: the thickest, k where all are equal
    removed = int(round(cut * array.shape[2 - axis]))
    keep = [slice(None)] * 3
    if removed:
        if rng.random() < 0.5:
            keep[2 - axis] = slice(removed, None)
            ijk_to_ras[:3, 3] += removed * ijk_to_ras[:3, axis]
        else:
            keep[2 - axis] = slice(0, array.shape[2 - axis] - removed)
    if np.allclose(motion, np.eye(4)) and not removed:
        return volume
    source = to_image(array, volume.ijk_to_ras)
    grid = to_image(np.zeros(array[tuple(keep)].shape, np.float32), ijk_to_ras)
    to_source = RAS_FROM_LPS @ np.linalg.inv(motion) @ RAS_FROM_LPS  # output (moved) point -> source point, LPS
    transform = sitk.AffineTransform(to_source[:3, :3].ravel().tolist(), to_source[:3, 3].tolist())
    moved = sitk.Resample(source, grid, transform, sitk.sitkLinear, float(array.min()), sitk.sitkFloat32)
    return Volume(sitk.GetArrayFromImage(moved), ijk_to_ras)

