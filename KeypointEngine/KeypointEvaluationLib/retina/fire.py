"""Reader for a FIRE-layout folder (Fundus Image Registration dataset, or anything arranged like it).

Layout: `Images/<ID>_1.jpg` (fixed), `Images/<ID>_2.jpg` (moving), `Ground Truth/control_points_<ID>_1_2.txt` with
`x_fixed y_fixed x_moving y_moving` per line (pixels); the category is the ID's first letter (S, P or A).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CATEGORY_NAMES = {"S": "S (super-imposed, high overlap)", "P": "P (partial overlap)",
                  "A": "A (anatomical changes)"}


@dataclass
class FirePair:
    id: str
    category: str
    fixed_path: Path
    moving_path: Path
    fixed_points: np.ndarray  # (N, 2) px
    moving_points: np.ndarray  # (N, 2) px


def read_fire_folder(folder: Path | str) -> list[FirePair]:
    """Every pair of a FIRE-layout folder, sorted by ID; a clear error if the layout is not there."""
    folder = Path(folder)
    truth_folder = folder / "Ground Truth"
    if not (folder / "Images").is_dir() or not truth_folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a FIRE folder: expected 'Images/' and 'Ground Truth/' inside.")
    pairs = []
    for truth in sorted(truth_folder.glob("control_points_*_1_2.txt")):
        pair_id = re.fullmatch(r"control_points_(.+)_1_2\.txt", truth.name).group(1)
        fixed, moving = _image(folder, f"{pair_id}_1"), _image(folder, f"{pair_id}_2")
        points = np.loadtxt(truth, ndmin=2)
        if points.shape[1] != 4:
            raise ValueError(f"{truth} must have 4 columns: x_fixed y_fixed x_moving y_moving.")
        pairs.append(FirePair(pair_id, pair_id[0].upper(), fixed, moving, points[:, :2], points[:, 2:]))
    if not pairs:
        raise FileNotFoundError(f"No control_points_<ID>_1_2.txt files in {truth_folder}.")
    return pairs


def _image(folder: Path, stem: str) -> Path:
    for suffix in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".JPG"):
        path = folder / "Images" / f"{stem}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"Image {stem} of a FIRE pair is missing from {folder / 'Images'}.")
