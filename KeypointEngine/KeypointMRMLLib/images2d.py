"""PNG, JPEG and TIFF images as single-slice volume nodes, exactly as Slicer loads them.

slicer-core has no reader for these formats, so this module reads them with SimpleITK (which Slicer itself uses
through ITK) and builds the node: spacing 1, origin 0, IJK->RAS = diag(-1, -1, 1) (ITK's LPS identity seen in RAS),
array [1, rows, columns] or [1, rows, columns, components]; RGB stays a vector volume.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from KeypointMRMLLib.volumes import VolumeArray, volume_from_array

IMAGE_2D_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
SLICER_2D_IJK_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def is_image_2d_file(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_2D_SUFFIXES


def read_image_2d(path: Path | str) -> VolumeArray:
    """Read a 2D image file into a single-slice VolumeArray with Slicer's geometry for such files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file not found: {path}")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as error:
        raise ValueError(f"Cannot read {path} as an image ({error.args[0].splitlines()[-1].strip()}). "
                         "Use PNG, JPEG or TIFF, or a NRRD/NIfTI volume.") from None
    if image.GetDimension() == 3 and image.GetSize()[2] == 1:
        image = image[:, :, 0]
    if image.GetDimension() != 2:
        raise ValueError(f"{path} holds a {image.GetDimension()}-D image of size {image.GetSize()}; "
                         "a single 2D image is expected here.")
    pixels = sitk.GetArrayFromImage(image)  # [rows, columns(, components)]
    return VolumeArray(pixels[np.newaxis], SLICER_2D_IJK_TO_RAS.copy())


def load_image_2d(scene, path: Path | str, name: str | None = None):
    """Read a PNG/JPEG/TIFF file into a new (vector) volume node, named after the file like Slicer does."""
    volume = read_image_2d(path)
    return volume_from_array(scene, volume.array, volume.ijk_to_ras, name or Path(path).stem)
