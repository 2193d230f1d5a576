"""PNG, JPEG and TIFF images as single-slice volume nodes, exactly as Slicer loads them.

slicer-core has no reader for these formats, so this module reads them with SimpleITK, as Slicer itself does through
ITK, and builds the geometry ITK reads: the spacing from JPEG/TIFF density (DPI; 1 without it, and always for PNG),
ITK's origin and direction (0 and identity for these formats) seen in RAS, so IJK->RAS = diag(-sx, -sy, 1) for a
plain image; array [1, rows, columns] or [1, rows, columns, components]; RGB stays a vector volume.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from KeypointEngineLib.errors import InputError
from KeypointEngineLib.geometry import RAS_FROM_LPS
from KeypointMRMLLib.volumes import VolumeArray, volume_from_array

IMAGE_2D_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
SLICER_2D_IJK_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])  # an image without density metadata


def is_image_2d_file(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_2D_SUFFIXES


# how a whole file starts and ends: a cut-off download or copy decodes into a half-grey image without an error
_SIGNATURES = {".jpg": (b"\xff\xd8", b"\xff\xd9"), ".jpeg": (b"\xff\xd8", b"\xff\xd9"),
               ".png": (b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82")}


def check_input_file(path: Path) -> None:
    """A FileNotFoundError or ValueError that says what is wrong, unless `path` is a readable file."""
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an image file; give the image's file name.")
    if not path.is_file():
        raise FileNotFoundError(f"Image file not found: {path}")


def _check_whole(path: Path) -> None:
    """A ValueError unless a JPEG or PNG file starts and ends as a whole one does."""
    if path.suffix.lower() not in _SIGNATURES:
        return
    start, end = _SIGNATURES[path.suffix.lower()]
    kind = path.suffix.lower()[1:].upper()
    with open(path, "rb") as stream:
        head = stream.read(len(start))
        stream.seek(max(path.stat().st_size - 64, 0))
        tail = stream.read()
    if head != start:
        raise InputError(f"Cannot read {path} as an image: it does not start as a {kind} file does. Use PNG, JPEG or "
                         "TIFF, or a NRRD/NIfTI volume.")
    if end not in tail:
        raise InputError(f"{path} is truncated or damaged (its {kind} data does not end where a whole file does); "
                         "copy or export it again.")


def read_image_2d(path: Path | str) -> VolumeArray:
    """Read a 2D image file into a single-slice VolumeArray with Slicer's geometry for such files."""
    path = Path(path)
    check_input_file(path)
    _check_whole(path)
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as error:
        raise InputError(f"Cannot read {path} as an image ({error.args[0].splitlines()[-1].strip()}). "
                         "Use PNG, JPEG or TIFF, or a NRRD/NIfTI volume.") from None
    if image.GetDimension() == 3 and image.GetSize()[2] == 1:
        image = image[:, :, 0]
    if image.GetDimension() != 2:
        raise InputError(f"{path} holds a {image.GetDimension()}-D image of size {image.GetSize()}; "
                         "a single 2D image is expected here.")
    pixels = sitk.GetArrayFromImage(image)  # [rows, columns(, components)]
    return VolumeArray(pixels[np.newaxis], ijk_to_ras_of_image(image))


def ijk_to_ras_of_image(image: sitk.Image) -> np.ndarray:
    """IJK->RAS of a 2D SimpleITK image as a single-slice volume: ITK's spacing, origin and direction (LPS), in RAS."""
    ijk_to_lps = np.eye(4)
    ijk_to_lps[:2, :2] = np.reshape(image.GetDirection(), (2, 2)) @ np.diag(image.GetSpacing())
    ijk_to_lps[:2, 3] = image.GetOrigin()
    return RAS_FROM_LPS @ ijk_to_lps


def load_image_2d(scene, path: Path | str, name: str | None = None):
    """Read a PNG/JPEG/TIFF file into a new (vector) volume node, named after the file like Slicer does."""
    volume = read_image_2d(path)
    return volume_from_array(scene, volume.array, volume.ijk_to_ras, name or Path(path).stem)
