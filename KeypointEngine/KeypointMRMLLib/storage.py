"""Nodes and scenes to and from the files Slicer reads: .nrrd, .mrk.json, .seg.nrrd, .h5, .mrml."""

from __future__ import annotations

import re
from pathlib import Path

from KeypointEngineLib.errors import InputError
from KeypointMRMLLib.images2d import check_input_file, is_image_2d_file, load_image_2d
from KeypointMRMLLib.scene import make_scene, module_logic


def save_node(node, path: Path | str) -> Path:
    """Write a storable node with its default (Slicer) storage node; the format follows the file name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = node.GetStorageNode()
    if storage is None:
        node.AddDefaultStorageNode()
        storage = node.GetStorageNode()
    storage.SetFileName(str(path))
    if not storage.WriteData(node):
        raise OSError(f"Could not write {node.GetName()!r} to {path}.")
    return path


def load_volume(scene, path: Path | str, name: str | None = None, labelmap: bool = False):
    """Load an image file as a volume node: PNG/JPEG/TIFF as Slicer does, anything else with Slicer's volume reader
    (NRRD, NIfTI, MHA, ...). RGB images become vector volumes; `labelmap` reads a label map volume."""
    path = Path(path)
    check_input_file(path)
    if is_image_2d_file(path):
        return load_image_2d(scene, path, name)
    node = module_logic(scene, "Volumes").AddArchetypeVolume(str(path), name or _stem(path), 1 if labelmap else 0)
    if node is None:
        raise InputError(f"Slicer's volume reader could not read {path}. Check that it is a NRRD, NIfTI or other "
                         "volume file Slicer opens, or convert it.")
    return node


def load_node(scene, path: Path | str, node_class: str):
    """Read one node of `node_class` from a file with that class's default storage node."""
    path = Path(path)
    node = scene.AddNewNodeByClass(node_class, _stem(path))
    node.AddDefaultStorageNode()
    storage = node.GetStorageNode()
    storage.SetFileName(str(path))
    if not storage.ReadData(node):
        scene.RemoveNode(storage)
        scene.RemoveNode(node)
        raise InputError(f"Could not read {path} as {node_class}.")
    return node


def save_scene(scene, folder: Path | str, name: str = "scene") -> Path:
    """Save every storable node to its own file in `folder`, then `folder/name.mrml` referencing them.

    The folder is made absolute first: data file names relative to the working directory would be stored relative
    to the scene's folder, so a scene saved to `out/` would look for its files in `out/out/`."""
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    used = set()
    for index in range(scene.GetNumberOfNodesByClass("vtkMRMLStorableNode")):
        node = scene.GetNthNodeByClass(index, "vtkMRMLStorableNode")
        if node.GetHideFromEditors() and node.GetStorageNode() is None:
            continue  # internal nodes Slicer does not save either
        if not _has_data(node):
            continue
        node.AddDefaultStorageNode()
        storage = node.GetStorageNode()
        if storage is None:
            continue
        filename = _unique(_safe(node.GetName()), storage.GetDefaultWriteFileExtension(), used)
        save_node(node, folder / filename)
    scene.SetRootDirectory(str(folder))
    scene.SetURL(str(folder / f"{name}.mrml"))
    if not scene.Commit():
        raise OSError(f"Could not write the scene file {folder / name}.mrml.")
    return folder / f"{name}.mrml"


def load_scene(path: Path | str):
    """A new scene (see make_scene) with the .mrml file and all its data files read in."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Scene file not found: {path}")
    scene = make_scene()
    scene.SetURL(str(path))
    scene.SetRootDirectory(str(path.parent))
    scene.Import()
    return scene


def _has_data(node) -> bool:
    return not node.IsA("vtkMRMLVolumeNode") or node.GetImageData() is not None


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".seg.nrrd", ".mrk.json", ".nii.gz"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "node"


def _unique(stem: str, extension: str, used: set[str]) -> str:
    candidate, number = f"{stem}.{extension}", 1
    while candidate in used:
        number += 1
        candidate = f"{stem}_{number}.{extension}"
    used.add(candidate)
    return candidate
