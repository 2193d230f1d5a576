"""Labelled cardiac cine frames from three layouts, all as CardiacFrame (image and labels [k, j, i] in ACDC's label
values, placed by a 4x4 IJK->RAS):

- the HDF5 files of ../shared/data/acdc-* (`patientNNN_frame01.h5` = ED, `_frame02` = ES; `image`, `label`; no voxel
  spacing: the data README's typical ACDC spacing is assumed),
- the real ACDC release (`patientNNN/patientNNN_frameYY.nii.gz`, `_gt.nii.gz`, `Info.cfg` with ED, ES and Group),
- M&Ms (`<code>/<code>_sa.nii.gz` 4D cine with `<code>_sa_gt.nii.gz`, ED/ES frames in the dataset's CSV table; its
  labels LV 1, MYO 2, RV 3 are mapped to ACDC's RV 1, MYO 2, LV 3).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from KeypointEngineLib.volume.preprocess import from_image

ASSUMED_SPACING_MM = (1.5625, 1.5625, 10.0)  # (column, row, slice): the data README's typical ACDC spacing
GROUPS = {"DCM": range(1, 21), "HCM": range(21, 41), "MINF": range(41, 61), "NOR": range(61, 81),
          "ARV": range(81, 101)}  # ACDC's patients by group
MNMS_TO_ACDC = np.array([0, 3, 2, 1], np.uint8)  # M&Ms LV 1, MYO 2, RV 3 -> ACDC RV 1, MYO 2, LV 3


@dataclass
class CardiacFrame:
    patient: str  # e.g. "patient001"
    phase: str  # "ED" or "ES"
    image: np.ndarray  # [k, j, i] float32
    labels: np.ndarray  # [k, j, i] uint8, ACDC values
    ijk_to_ras: np.ndarray

    @property
    def group(self) -> str:
        return acdc_group(self.patient)


def acdc_group(patient: str) -> str:
    number = int(re.sub(r"\D", "", patient) or 0)
    return next((name for name, numbers in GROUPS.items() if number in numbers), "unknown")


def assumed_geometry() -> np.ndarray:
    """IJK->RAS of an HDF5 frame: the assumed spacing, axes as ITK reads an unoriented image (LPS identity)."""
    return np.diag([-ASSUMED_SPACING_MM[0], -ASSUMED_SPACING_MM[1], ASSUMED_SPACING_MM[2], 1.0])


def read_h5_frame(path: Path) -> CardiacFrame:
    import h5py

    match = re.match(r"(patient\d+)_frame0([12])\.h5$", path.name)
    if match is None:
        raise ValueError(f"{path.name}: expected patientNNN_frame01.h5 (ED) or patientNNN_frame02.h5 (ES).")
    with h5py.File(path, "r") as file:
        image, labels = np.asarray(file["image"], np.float32), np.asarray(file["label"], np.uint8)
    return CardiacFrame(match[1], "ED" if match[2] == "1" else "ES", image, labels, assumed_geometry())


def h5_frames(folder: Path) -> Iterator[CardiacFrame]:
    for path in sorted(Path(folder).glob("patient*_frame0[12].h5")):
        yield read_h5_frame(path)


def _read(path: Path, pixel=sitk.sitkFloat32) -> tuple[np.ndarray, np.ndarray]:
    return from_image(sitk.ReadImage(str(path), pixel))


def read_info(path: Path) -> dict[str, str]:
    """ACDC's Info.cfg: `Key: value` lines (ED, ES, Group, Height, NbFrame, Weight)."""
    pairs = (line.split(":", 1) for line in Path(path).read_text().splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def acdc_release_frames(folder: Path) -> Iterator[CardiacFrame]:
    """The ED and ES frames of every patient folder of the real ACDC release under `folder`."""
    for patient in sorted(path for path in Path(folder).glob("patient*") if path.is_dir()):
        info = read_info(patient / "Info.cfg")
        for phase in ("ED", "ES"):
            stem = patient / f"{patient.name}_frame{int(info[phase]):02d}"
            image, ijk_to_ras = _read(Path(f"{stem}.nii.gz"))
            labels, _ = _read(Path(f"{stem}_gt.nii.gz"), sitk.sitkUInt8)
            yield CardiacFrame(patient.name, phase, image, labels.astype(np.uint8), ijk_to_ras)


def mnms_frames(folder: Path, table: Path) -> Iterator[CardiacFrame]:
    """The ED and ES frames of every M&Ms subject under `folder` listed in `table` (CSV with columns
    "External code", "ED", "ES", 0-based frame indices)."""
    with open(table, newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        code = row["External code"].strip()
        subject = Path(folder) / code
        if not (subject / f"{code}_sa.nii.gz").is_file():
            continue
        cine = sitk.ReadImage(str(subject / f"{code}_sa.nii.gz"), sitk.sitkFloat32)
        truth = sitk.ReadImage(str(subject / f"{code}_sa_gt.nii.gz"), sitk.sitkUInt8)
        for phase in ("ED", "ES"):
            frame = int(row[phase])
            image, ijk_to_ras = from_image(_frame_of(cine, frame))
            labels, _ = from_image(_frame_of(truth, frame))
            yield CardiacFrame(code, phase, image, MNMS_TO_ACDC[np.clip(labels.astype(np.uint8), 0, 3)], ijk_to_ras)


def _frame_of(cine: sitk.Image, frame: int) -> sitk.Image:
    """One 3D frame of a 4D (x, y, z, t) image, with the 3D part of its geometry."""
    size = list(cine.GetSize())
    if frame >= size[3]:
        raise ValueError(f"Frame {frame} asked of a cine with {size[3]} frames.")
    return sitk.Extract(cine, size[:3] + [0], [0, 0, 0, frame])
