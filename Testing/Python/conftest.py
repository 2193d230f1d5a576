"""Shared fixtures: real MRML scenes from slicer-core and the oblique, anisotropic geometry where bugs live."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[2]
# the data folder the CLI reads too: $KEYPOINT_DATA, else ../shared/data beside the checkout
SHARED_DATA = Path(os.environ.get("KEYPOINT_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture
def scene():
    from KeypointMRMLLib.scene import make_scene

    return make_scene()


@pytest.fixture
def oblique_ijk_to_ras() -> np.ndarray:
    """Rotated about a skew axis, spacing 0.7 x 1.3 x 3.1 mm, origin off zero: IJK->RAS for round-trip tests."""
    directions = Rotation.from_rotvec(np.array([0.3, -0.5, 0.8]) * 0.6).as_matrix()
    matrix = np.eye(4)
    matrix[:3, :3] = directions @ np.diag([0.7, 1.3, 3.1])
    matrix[:3, 3] = [-12.5, 40.25, 7.75]
    return matrix


def shared_data(relative: str) -> Path:
    """A file under the data folder ($KEYPOINT_DATA or ../shared/data), or skip the test cleanly without it."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path
