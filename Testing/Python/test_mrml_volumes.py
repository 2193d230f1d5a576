"""Volume nodes <-> numpy + IJK->RAS, through real slicer-core nodes and Slicer's own file readers and writers."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from KeypointMRMLLib.images2d import SLICER_2D_IJK_TO_RAS, load_image_2d, read_image_2d
from KeypointMRMLLib.storage import load_volume, save_node
from KeypointMRMLLib.volumes import array_from_volume, ijk_to_ras_of, volume_from_array


def _reload(tmp_path, node, filename):
    from KeypointMRMLLib.scene import make_scene

    path = save_node(node, tmp_path / filename)
    return load_volume(make_scene(), path)


def test_scalar_volume_round_trips_through_nrrd_with_oblique_geometry(scene, oblique_ijk_to_ras, tmp_path):
    voxels = np.random.default_rng(0).normal(size=(5, 7, 9)).astype(np.float32)
    node = volume_from_array(scene, voxels, oblique_ijk_to_ras, "ct")
    assert node.IsA("vtkMRMLScalarVolumeNode") and not node.IsA("vtkMRMLVectorVolumeNode")
    in_memory = array_from_volume(node)
    np.testing.assert_array_equal(in_memory.array, voxels)
    np.testing.assert_allclose(in_memory.ijk_to_ras, oblique_ijk_to_ras, atol=1e-12)

    reloaded = array_from_volume(_reload(tmp_path, node, "ct.nrrd"))
    np.testing.assert_array_equal(reloaded.array, voxels)
    np.testing.assert_allclose(reloaded.ijk_to_ras, oblique_ijk_to_ras, atol=1e-6)


def test_single_slice_volume_round_trips(scene, oblique_ijk_to_ras, tmp_path):
    voxels = np.arange(6 * 8, dtype=np.int16).reshape(1, 6, 8)
    node = volume_from_array(scene, voxels, oblique_ijk_to_ras, "slice")
    reloaded = array_from_volume(_reload(tmp_path, node, "slice.nrrd"))
    assert reloaded.array.shape == (1, 6, 8)
    np.testing.assert_array_equal(reloaded.array, voxels)
    np.testing.assert_allclose(reloaded.ijk_to_ras, oblique_ijk_to_ras, atol=1e-6)


def test_rgb_vector_volume_round_trips(scene, oblique_ijk_to_ras, tmp_path):
    rgb = np.random.default_rng(1).integers(0, 255, size=(1, 6, 8, 3), dtype=np.uint8)
    node = volume_from_array(scene, rgb, oblique_ijk_to_ras, "fundus")
    assert node.IsA("vtkMRMLVectorVolumeNode")
    reloaded_node = _reload(tmp_path, node, "fundus.nrrd")
    assert reloaded_node.IsA("vtkMRMLVectorVolumeNode")
    reloaded = array_from_volume(reloaded_node)
    np.testing.assert_array_equal(reloaded.array, rgb)
    np.testing.assert_allclose(reloaded.ijk_to_ras, oblique_ijk_to_ras, atol=1e-6)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg"])
def test_2d_images_load_as_slicer_loads_them(scene, tmp_path, suffix):
    rgb = np.zeros((5, 9, 3), dtype=np.uint8)
    rgb[1, 7] = (200, 30, 90)  # row 1, column 7
    path = tmp_path / f"eye{suffix}"
    sitk.WriteImage(sitk.GetImageFromArray(rgb, isVector=True), str(path))

    node = load_image_2d(scene, path)
    assert node.IsA("vtkMRMLVectorVolumeNode") and node.GetName() == "eye"
    volume = array_from_volume(node)
    assert volume.array.shape == (1, 5, 9, 3)
    # SimpleITK writes TIFF density that reads back as 1.00000002 mm per px: what Slicer reads too
    np.testing.assert_allclose(ijk_to_ras_of(node), np.diag([-1.0, -1.0, 1.0, 1.0]), rtol=1e-6)
    if suffix != ".jpg":  # JPEG is lossy
        np.testing.assert_array_equal(volume.array[0, 1, 7], (200, 30, 90))


def test_grayscale_png_is_a_scalar_single_slice_volume(scene, tmp_path):
    path = tmp_path / "gray.png"
    sitk.WriteImage(sitk.GetImageFromArray(np.full((4, 6), 77, dtype=np.uint8)), str(path))
    node = load_volume(scene, path)
    assert node.IsA("vtkMRMLScalarVolumeNode") and not node.IsA("vtkMRMLVectorVolumeNode")
    assert array_from_volume(node).array.shape == (1, 4, 6)


def test_reading_a_3d_volume_as_a_2d_image_is_refused(tmp_path):
    path = tmp_path / "stack.tif"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 4, 5), dtype=np.uint8)), str(path))
    with pytest.raises(ValueError, match="single 2D image"):
        read_image_2d(path)


def test_unreadable_image_gives_a_clear_error(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="Cannot read .*broken.png"):
        read_image_2d(path)
    with pytest.raises(FileNotFoundError):
        read_image_2d(tmp_path / "missing.png")


def test_2d_geometry_constant_matches_slicer_convention():
    np.testing.assert_array_equal(SLICER_2D_IJK_TO_RAS, np.diag([-1.0, -1.0, 1.0, 1.0]))


@pytest.mark.parametrize("name, dpi, spacing", [
    ("photo.jpg", (300, 300), (25.4 / 300, 25.4 / 300)),
    ("scan.tif", (150, 200), (25.4 / 150, 25.4 / 200)),
    ("plain.jpg", None, (1.0, 1.0)),
    ("figure.png", (300, 300), (1.0, 1.0)),  # ITK reads no density from PNG, so neither does Slicer
])
def test_2d_images_get_the_spacing_itk_reads_from_their_density(tmp_path, name, dpi, spacing):
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / name, **({"dpi": dpi} if dpi else {}))
    volume = read_image_2d(tmp_path / name)
    np.testing.assert_allclose(volume.ijk_to_ras, np.diag([-spacing[0], -spacing[1], 1.0, 1.0]), rtol=1e-3)
    assert volume.array.shape == (1, 40, 60, 3)
