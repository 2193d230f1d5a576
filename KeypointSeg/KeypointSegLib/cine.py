"""4D cine MRI as Slicer holds it: a sequence node of 3D volume frames; read from a 4D NIfTI (x, y, z, t) as Slicer's
sequence import does, one frame per time point."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from KeypointEngineLib.errors import InputError


def sequence_from_frames(scene, frames: list[tuple[np.ndarray, np.ndarray]], name: str):
    """A new sequence node with one scalar volume per (array [k, j, i], IJK->RAS) frame, indexed 0, 1, ..."""
    import slicer

    from KeypointMRMLLib.volumes import volume_from_array

    sequence = scene.AddNewNodeByClass("vtkMRMLSequenceNode", name)
    sequence.SetIndexName("frame")
    sequence.SetIndexUnit("")
    holder = slicer.vtkMRMLScene()  # frames are built in a scratch scene, then copied into the sequence
    for index, (array, ijk_to_ras) in enumerate(frames):
        frame = volume_from_array(holder, array, ijk_to_ras, f"{name} frame {index}")
        sequence.SetDataNodeAtValue(frame, str(index))
    return sequence


def is_cine_file(path: Path) -> bool:
    """True for a 4D image file (a cine): read its header only."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return False
    return reader.GetDimension() == 4


def load_cine(scene, path: Path):
    """A 4D NIfTI (or other 4D image) file as a sequence node of its frames."""
    import SimpleITK as sitk

    from KeypointEngineLib.volume.preprocess import from_image

    image = sitk.ReadImage(str(path), sitk.sitkFloat32)
    if image.GetDimension() != 4:
        raise InputError(f"{path} is not a 4D cine; give a 3D frame instead, or a 4D NIfTI.")
    size = list(image.GetSize())
    frames = [from_image(sitk.Extract(image, size[:3] + [0], [0, 0, 0, t])) for t in range(size[3])]
    name = Path(path).name.split(".")[0]
    return sequence_from_frames(scene, frames, name)
