"""Synthetic 3D shapes with known corners, for SP3D's first training stage (SP3D-pt): boxes, pyramids, triangular
prisms and stars, whose corners and tips are the keypoints, among smooth blobs that have none; noise, blur and
intensity changes on top.

Shapes are solid, of their own intensity, on a smooth background, placed without overlap (a corner hidden inside
another shape would be a label nothing can see). Corners are (x, y, z) voxel positions, 0-based, voxel centres at
integers; volumes are [k, j, i] = [z, y, x].
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation

KINDS = ("box", "pyramid", "prism", "star", "blob")


def _inside_and_corners(kind: str, local: np.ndarray, size: np.ndarray, rng: np.random.Generator):
    """(inside mask over the (N, 3) local coordinates, (M, 3) corners in local coordinates)."""
    x, y, z = local.T
    a, b, c = size
    if kind == "box":
        inside = (np.abs(x) <= a) & (np.abs(y) <= b) & (np.abs(z) <= c)
        corners = np.array([[sx * a, sy * b, sz * c] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    elif kind == "pyramid":  # square base at z = -c, apex at z = +c
        shrink = np.clip((c - z) / (2 * c), 0, 1)
        inside = (np.abs(z) <= c) & (np.abs(x) <= a * shrink) & (np.abs(y) <= a * shrink)
        corners = np.array([[sx * a, sy * a, -c] for sx in (-1, 1) for sy in (-1, 1)] + [[0, 0, c]])
    elif kind == "prism":  # triangle in (x, y) extruded along z
        vertices = np.array([[0, b], [-a, -b], [a, -b]])
        edges = [(vertices[i], vertices[(i + 1) % 3]) for i in range(3)]
        inside = np.abs(z) <= c
        for start, end in edges:  # left of each counter-clockwise edge
            inside &= (end[0] - start[0]) * (y - start[1]) - (end[1] - start[1]) * (x - start[0]) <= 0
        corners = np.array([[vx, vy, sz * c] for vx, vy in vertices for sz in (-1, 1)])
    elif kind == "star":  # spikes from the centre: cones whose tips are the keypoints
        directions = Rotation.random(int(rng.integers(3, 6)), random_state=rng).apply([0, 0, 1.0])
        length, radius = max(size), 0.28 * max(size)
        inside = np.linalg.norm(local, axis=1) <= 0.3 * length
        for direction in directions:
            along = local @ direction
            across = np.linalg.norm(local - np.outer(along, direction), axis=1)
            inside |= (along >= 0) & (along <= length) & (across <= radius * (1 - along / length))
        corners = directions * length
    else:  # blob: an ellipsoid, no corners
        inside = (x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2 <= 1
        corners = np.zeros((0, 3))
    return inside, corners


def make_shapes_volume(rng: np.random.Generator, shape: tuple[int, int, int] = (64, 64, 64),
                       count: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(volume [z, y, x] float32 about 0..1, corners (N, 3) as (x, y, z) voxels inside it)."""
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in shape[::-1]], indexing="ij"), axis=-1)  # [x, y, z, 3]
    points = grid.reshape(-1, 3).astype(np.float64)
    volume = ndimage.gaussian_filter(rng.normal(0, 1, shape), 8) * 8 + rng.uniform(0.1, 0.4)
    placed, corners = [], []
    for _ in range(count * 10):
        if len(placed) == count:
            break
        kind = KINDS[int(rng.integers(len(KINDS)))]
        size = rng.uniform(3, 9, 3)
        centre = rng.uniform(8, np.array(shape[::-1]) - 8)
        reach = 1.1 * np.linalg.norm(size) if kind != "star" else 1.1 * max(size)
        if any(np.linalg.norm(centre - other) < reach + other_reach + 2 for other, other_reach in placed):
            continue
        rotation = Rotation.random(random_state=rng)
        local = rotation.inv().apply(points - centre)
        inside, shape_corners = _inside_and_corners(kind, local, size, rng)
        if inside.sum() < 30:
            continue
        placed.append((centre, reach))
        inside = inside.reshape(shape[::-1]).transpose(2, 1, 0)  # [x, y, z] -> [z, y, x]
        volume[inside] = rng.uniform(0.5, 1.0) * rng.choice([-1, 1]) + volume[inside] * 0.2
        corners.append(rotation.apply(shape_corners) + centre)
    corners = np.concatenate(corners) if corners else np.zeros((0, 3))
    volume = ndimage.gaussian_filter(volume, rng.uniform(0.3, 1.0)) + rng.normal(0, rng.uniform(0.01, 0.05), shape)
    volume = (volume - volume.min()) / max(float(np.ptp(volume)), 1e-6)
    keep = np.all((corners >= 0) & (corners <= np.array(shape[::-1]) - 1), axis=1)
    return volume.astype(np.float32), corners[keep]
