"""A Slicer-like MRML scene without the Slicer application, for the CLI, batch runs and tests."""

from __future__ import annotations

from contextlib import contextmanager

import slicer

# Registered in this order, as Slicer's application does, so that storage and reading behave as in Slicer: without the
# markups logic, for instance, fiducials are silently dropped when a scene is saved.
_MODULE_LOGICS = {
    "Markups": slicer.vtkSlicerMarkupsLogic,
    "Volumes": slicer.vtkSlicerVolumesLogic,
    "Segmentations": slicer.vtkSlicerSegmentationsModuleLogic,
    "Transforms": slicer.vtkSlicerTransformLogic,
}


def make_scene() -> slicer.vtkMRMLScene:
    """A new scene with the application logic (selection and interaction singletons), the default colour nodes and
    the markups, volumes, segmentations and transforms logics attached."""
    scene = slicer.vtkMRMLScene()
    application_logic = slicer.vtkSlicerApplicationLogic()
    application_logic.SetMRMLScene(scene)
    color_logic = application_logic.GetColorLogic()
    color_logic.SetMRMLScene(scene)
    color_logic.AddDefaultColorNodes()
    application_logic.SetModuleLogic("Colors", color_logic)  # the volumes logic colours new volumes through it
    logics = {"Application": application_logic, "Colors": color_logic}
    for name, logic_class in _MODULE_LOGICS.items():
        logic = logic_class()
        logic.SetMRMLApplicationLogic(application_logic)
        logic.SetMRMLScene(scene)
        application_logic.SetModuleLogic(name, logic)
        logics[name] = logic
    # The application logic keeps only raw pointers to module logics: keep the Python objects alive with the scene.
    scene._keypointLogics = logics
    return scene


def module_logic(scene: slicer.vtkMRMLScene, name: str):
    """The module logic (e.g. "Volumes", "Markups") of a scene made by make_scene, or of Slicer's own scene."""
    logics = getattr(scene, "_keypointLogics", None)
    if logics is not None:
        return logics[name]
    import slicer as app_slicer  # inside the Slicer application the module logics are registered by the app

    return app_slicer.util.getModuleLogic(name)


def remove_node(node) -> None:
    """Remove a node with its display and storage nodes, as Slicer's Data module does."""
    scene = node.GetScene()
    if scene is None:
        return
    helpers = [node.GetNthDisplayNode(i) for i in range(node.GetNumberOfDisplayNodes())] if node.IsA(
        "vtkMRMLDisplayableNode") else []
    if node.IsA("vtkMRMLStorableNode") and node.GetStorageNode() is not None:
        helpers.append(node.GetStorageNode())
    for helper in helpers:
        if helper is not None:
            scene.RemoveNode(helper)
    scene.RemoveNode(node)


@contextmanager
def temporary_nodes(scene):
    """Every node added to `scene` inside the block (helpers Slicer's logics make on the way too, such as colour
    tables) is removed at its end, whatever happens."""
    before = {scene.GetNthNode(index).GetID() for index in range(scene.GetNumberOfNodes())}
    try:
        yield
    finally:
        added = [scene.GetNthNode(index) for index in range(scene.GetNumberOfNodes())]
        for node in added:
            if node is not None and node.GetID() not in before and node.GetScene() is scene:
                scene.RemoveNode(node)


@contextmanager
def created_nodes():
    """A list for the nodes a step adds: if the block fails, they are removed again and the scene is as it was."""
    created = []
    try:
        yield created
    except BaseException:
        for node in reversed(created):
            remove_node(node)
        raise
