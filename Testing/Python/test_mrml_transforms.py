"""Transform nodes <-> 4x4 matrices and displacement grids, round-tripped through Slicer's .h5/.txt storage."""

from __future__ import annotations

import numpy as np
import pytest

from KeypointEngineLib.geometry import ras_from_ijk
from KeypointMRMLLib.scene import make_scene
from KeypointMRMLLib.storage import load_node, save_node
from KeypointMRMLLib.transforms import (
    FROM_PARENT,
    TO_PARENT,
    displacement_from_grid_transform,
    grid_transform_from_displacement,
    linear_transform_from_matrix,
    linear_transform_from_registration,
    matrix_from_linear_transform,
    transform_points,
)


@pytest.fixture
def affine(oblique_ijk_to_ras) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = oblique_ijk_to_ras[:3, :3] / np.array([0.7, 1.3, 3.1]) @ np.diag([1.1, 0.9, 1.05])
    matrix[:3, 3] = [3.0, -7.5, 12.0]
    return matrix


@pytest.mark.parametrize("suffix", [".h5", ".txt"])
def test_linear_transform_round_trips_through_itk_files(scene, affine, tmp_path, suffix):
    node = linear_transform_from_matrix(scene, affine, "moving to fixed")
    np.testing.assert_allclose(matrix_from_linear_transform(node), affine, atol=1e-12)
    path = save_node(node, tmp_path / f"t{suffix}")
    reloaded = load_node(make_scene(), path, "vtkMRMLLinearTransformNode")
    np.testing.assert_allclose(matrix_from_linear_transform(reloaded), affine, atol=1e-6)


def test_projective_matrix_is_refused_for_a_linear_node(scene):
    homography = np.eye(4)
    homography[3, 0] = 1e-3
    with pytest.raises(ValueError, match="grid transform"):
        linear_transform_from_matrix(scene, homography, "h")


def _smooth_field(shape) -> np.ndarray:
    k, j, i = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    return np.stack([np.sin(i / 3.0) * 2.0, np.cos(j / 4.0) * 1.5 + 0.1 * k, 0.05 * i * j], axis=-1)


@pytest.mark.parametrize("direction", [FROM_PARENT, TO_PARENT])
def test_grid_transform_round_trips_through_h5(scene, oblique_ijk_to_ras, tmp_path, direction):
    field = _smooth_field((3, 6, 7))
    node = grid_transform_from_displacement(scene, field, oblique_ijk_to_ras, "warp", direction=direction)
    in_memory, grid, stored_direction = displacement_from_grid_transform(node)
    assert stored_direction == direction
    np.testing.assert_allclose(in_memory, field, atol=1e-12)
    np.testing.assert_allclose(grid, oblique_ijk_to_ras, atol=1e-12)

    path = save_node(node, tmp_path / "warp.h5")
    reloaded = load_node(make_scene(), path, "vtkMRMLGridTransformNode")
    field_back, grid_back, direction_back = displacement_from_grid_transform(reloaded)
    assert direction_back == direction
    np.testing.assert_allclose(field_back, field, atol=1e-6)
    np.testing.assert_allclose(grid_back, oblique_ijk_to_ras, atol=1e-6)


def test_grid_transform_maps_grid_points_by_their_displacement(scene, oblique_ijk_to_ras, tmp_path):
    field = _smooth_field((3, 6, 7))
    node = grid_transform_from_displacement(scene, field, oblique_ijk_to_ras, "warp", direction=FROM_PARENT)
    reloaded = load_node(make_scene(), save_node(node, tmp_path / "warp.h5"), "vtkMRMLGridTransformNode")
    grid_points_ijk = np.array([[2.0, 3.0, 1.0], [5.0, 1.0, 2.0]])
    points_ras = ras_from_ijk(grid_points_ijk, oblique_ijk_to_ras)
    expected = points_ras + field[grid_points_ijk[:, 2].astype(int), grid_points_ijk[:, 1].astype(int),
                                  grid_points_ijk[:, 0].astype(int)]
    np.testing.assert_allclose(transform_points(reloaded, points_ras, FROM_PARENT), expected, atol=1e-5)
    # ...and the to-parent direction inverts it (VTK inverts a grid iteratively, hence the looser tolerance)
    np.testing.assert_allclose(transform_points(reloaded, expected, TO_PARENT), points_ras, atol=1e-2)


def test_displacement_field_shape_is_checked(scene, oblique_ijk_to_ras):
    with pytest.raises(ValueError, match=r"\[k, j, i, 3\]"):
        grid_transform_from_displacement(scene, np.zeros((3, 4, 2)), oblique_ijk_to_ras, "bad")


def test_a_3d_fit_becomes_a_node_that_aligns_moving_onto_fixed_and_a_file_that_maps_fixed_to_moving(scene, tmp_path):
    """The engine fits fixed RAS -> moving RAS; the node's ToParent is its inverse; the .h5, read by SimpleITK
    independently of Slicer, maps fixed points (LPS) to moving points (LPS), as ITK transform files do."""
    import SimpleITK as sitk
    from scipy.spatial.transform import Rotation

    from KeypointEngineLib.fitting import Fitter
    from KeypointEngineLib.geometry import lps_from_ras

    rng = np.random.default_rng(0)
    fixed = rng.uniform(-80, 80, (60, 3))
    rotation = Rotation.from_euler("zyx", [40, -25, 10], degrees=True).as_matrix()
    moving = fixed @ rotation.T + [10.0, -20.0, 5.0]
    fit = Fitter("rigid", 3, threshold=1.0).fit(fixed, moving)
    node = linear_transform_from_registration(scene, fit.model.forward, "moving to fixed")
    np.testing.assert_allclose(transform_points(node, moving, TO_PARENT), fixed, atol=1e-6)
    itk = sitk.ReadTransform(str(save_node(node, tmp_path / "t.h5")))
    mapped = np.array([itk.TransformPoint(point) for point in lps_from_ras(fixed)])
    np.testing.assert_allclose(mapped, lps_from_ras(moving), atol=1e-4)
