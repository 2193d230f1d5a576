"""KeypointSegLogic: cardiac short-axis MRI volume nodes segmented by KAF-UNet into segmentation nodes (right
ventricle cavity, left ventricle myocardium, left ventricle cavity), with volumes, and from an end-diastolic and an
end-systolic frame the ejection fractions and myocardial mass, in a table node.

A plain class (no ScriptedLoadableModuleLogic, which slicer-core lacks): it runs in Slicer, its Python console,
`Slicer --no-main-window` batch scripts and on the slicer-core wheel. Heavy engine imports happen inside the methods.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from KeypointEngineLib.cardiac.parameters import BATCH_SLICES, KEYPOINTS, MODELS, SegmentOptions
from KeypointEngineLib.errors import InputError
from KeypointEngineLib.jobs import Task, run_blocking
from KeypointMRMLLib.markups import fiducials_from_points
from KeypointMRMLLib.scene import created_nodes
from KeypointMRMLLib.segmentations import segmentation_from_labelmap
from KeypointMRMLLib.volumes import array_from_volume
from KeypointSegLib.terminology import SEGMENTS


@dataclass
class SegmentResult:
    segmentationNode: object  # "<volume> segmentation": the three segments, reference geometry of the volume
    volumesMl: dict  # structure name -> mL
    quality: object  # KeypointEngineLib.cardiac.measurements.Quality: ok, reasons
    keypointsNode: object | None = None  # "<volume> KAF keypoints" when asked for
    warnings: list = field(default_factory=list)
    tableNode: object | None = None  # "<volume> volumes" (one frame segmented alone; a cycle has its own table)


@dataclass
class CycleResult:
    endDiastole: SegmentResult
    endSystole: SegmentResult
    function: dict  # measurement name -> value (KeypointEngineLib.cardiac.measurements.cardiac_function)
    tableNode: object  # the function and volumes as a table node
    frames: tuple | None = None  # (ED, ES) frame indices, for a cine

    @property
    def ok(self) -> bool:
        return self.endDiastole.quality.ok and self.endSystole.quality.ok


class KeypointSegLogic:
    def __init__(self, segmenters=None):
        self._segmenters = segmenters or {}  # model name -> CardiacSegmenter; loaded on first use

    def segmenter(self, model=MODELS[0], device=None):
        if model not in MODELS:
            raise InputError(f"Unknown model {model!r}: use one of {', '.join(MODELS)}.")
        key = (model, device)
        if key not in self._segmenters:
            from KeypointEngineLib.cardiac.inference import CardiacSegmenter

            self._segmenters[key] = CardiacSegmenter(model, device)
        return self._segmenters[key]

    def segment(self, volumeNode, model=MODELS[0], batchSlices=int(BATCH_SLICES.default),
                keypointDensity=int(KEYPOINTS.default), postprocess=True, createKeypoints=False, device=None,
                createTable=True, job=None) -> SegmentResult:
        """Segment the short-axis stack `volumeNode` (one cine frame, any geometry and intensity range) into a new
        segmentation node beside it. `keypointDensity`: SIFT keypoints per 16 cm square of a slice (as trained).
        `job` reports progress and can cancel (JobCancelled; the scene is as it was)."""
        return run_blocking(self.segmentationTask(volumeNode, model, batchSlices, keypointDensity, postprocess,
                                                  createKeypoints, device, createTable), job)

    def segmentationTask(self, volumeNode, model=MODELS[0], batchSlices=int(BATCH_SLICES.default),
                         keypointDensity=int(KEYPOINTS.default), postprocess=True, createKeypoints=False,
                         device=None, createTable=True) -> Task:
        """segment() as a Task (prepare -> work -> apply), for the GUI to run the work off Qt's main thread."""
        options = SegmentOptions(int(batchSlices), keypoints=int(keypointDensity), postprocess=postprocess).check()
        if model not in MODELS:
            raise InputError(f"Unknown model {model!r}: use one of {', '.join(MODELS)}.")

        def prepare():
            return readVolume(volumeNode, "volume")

        def work(volume, job):
            array, ijkToRas = volume
            return self.segmenter(model, device).segment(array, ijkToRas, options, job)

        def apply(output):
            with created_nodes() as created:
                result = self._resultNodes(volumeNode, output, createKeypoints)
                created += [node for node in (result.segmentationNode, result.keypointsNode) if node]
                if createTable:
                    result.tableNode = measurementTable(volumeNode.GetScene(), {}, result, None,
                                                        f"{volumeNode.GetName()} volumes")
            return result

        return Task(prepare, work, apply)

    def segmentCycle(self, endDiastoleVolume, endSystoleVolume, model=MODELS[0], tableNode=None, device=None,
                     job=None, **options) -> CycleResult:
        """Both frames of a cine segmented, and the ventricular function of the pair (volumes, stroke volumes,
        ejection fractions, myocardial mass) in a table node (new unless `tableNode` is given)."""
        return run_blocking(self.cycleTask(endDiastoleVolume, endSystoleVolume, model, tableNode, device, **options),
                            job)

    def cycleTask(self, endDiastoleVolume, endSystoleVolume, model=MODELS[0], tableNode=None, device=None,
                  **options) -> Task:
        """segmentCycle() as a Task: both frames read, segmented, and their nodes made together (or none)."""
        if endDiastoleVolume is None or endSystoleVolume is None or endDiastoleVolume is endSystoleVolume:
            raise InputError("Select two different frames of one cine: end-diastole and end-systole.")
        if tableNode is not None and not tableNode.IsA("vtkMRMLTableNode"):
            raise InputError(f"The output {tableNode.GetName()!r} is not a table; choose one, or 'Create new table'.")
        tasks = [self.segmentationTask(volume, model, device=device, createTable=False, **options)
                 for volume in (endDiastoleVolume, endSystoleVolume)]

        def prepare():
            return [task.prepare() for task in tasks]

        def work(volumes, job):
            return [task.work(volume, job.scaled(0.5 * index, 0.5 * index + 0.5))
                    for index, (task, volume) in enumerate(zip(tasks, volumes, strict=True))]

        def apply(outputs):
            with created_nodes() as created:  # a failure in the second frame's nodes removes the first's too
                results = []
                for task, output in zip(tasks, outputs, strict=True):
                    results.append(task.apply(output))
                    created += [node for node in (results[-1].segmentationNode, results[-1].keypointsNode) if node]
                return measuredCycle(endDiastoleVolume.GetScene(), endDiastoleVolume.GetName(), results, tableNode,
                                     created)

        return Task(prepare, work, apply)

    def segmentCine(self, cineNode, endDiastoleFrame=None, endSystoleFrame=None, model=MODELS[0], tableNode=None,
                    device=None, job=None, **options) -> CycleResult:
        """A 4D cine (a sequence node of short-axis volumes) at its end-diastolic and end-systolic frames: given, or
        found by segmenting every frame (end-diastole: the largest left ventricle cavity; end-systole: the smallest).
        The two frames are added to the scene as volumes, then segmented and measured as in segmentCycle()."""
        return run_blocking(self.cineTask(cineNode, endDiastoleFrame, endSystoleFrame, model, tableNode, device,
                                          **options), job)

    def cineTask(self, cineNode, endDiastoleFrame=None, endSystoleFrame=None, model=MODELS[0], tableNode=None,
                 device=None, **options) -> Task:
        if cineNode is None or not cineNode.IsA("vtkMRMLSequenceNode"):
            raise InputError("Select a cine: a sequence of short-axis volumes (or load a 4D NIfTI as a sequence).")
        count = cineNode.GetNumberOfDataNodes()
        for frame in (endDiastoleFrame, endSystoleFrame):
            if frame is not None and not 0 <= int(frame) < count:
                raise InputError(f"Frame {frame} asked of the cine {cineNode.GetName()!r}, which has {count} frames "
                                 f"(0-{count - 1}).")
        if count < 2 or (endDiastoleFrame is not None and endDiastoleFrame == endSystoleFrame):
            raise InputError("A cine needs two different frames for end-diastole and end-systole.")
        segmentOptions = SegmentOptions(int(options.get("batchSlices", BATCH_SLICES.default)),
                                        keypoints=int(options.get("keypointDensity", KEYPOINTS.default)),
                                        postprocess=options.get("postprocess", True)).check()

        def prepare():
            return [readVolume(cineNode.GetNthDataNode(index), f"frame {index} of the cine") for index in range(count)]

        def work(frames, job):
            segmenter = self.segmenter(model, device)
            given = [int(frame) for frame in (endDiastoleFrame, endSystoleFrame) if frame is not None]
            wanted = given if len(given) == 2 else range(count)  # a frame to find: segment them all
            outputs = {}
            for step, index in enumerate(wanted):
                outputs[index] = segmenter.segment(*frames[index], segmentOptions,
                                                   job.scaled(step / len(wanted), (step + 1) / len(wanted)))

            def cavity(index):
                return outputs[index].volumes_ml["Left ventricle cavity"]

            ed = int(endDiastoleFrame) if endDiastoleFrame is not None else max(
                (index for index in outputs if index != endSystoleFrame), key=cavity)
            es = int(endSystoleFrame) if endSystoleFrame is not None else min(
                (index for index in outputs if index != ed), key=cavity)
            return (ed, frames[ed], outputs[ed]), (es, frames[es], outputs[es])

        def apply(worked):
            from KeypointMRMLLib.volumes import volume_from_array

            scene = cineNode.GetScene()
            with created_nodes() as created:
                results = []
                for (index, (array, ijkToRas), output), phase in zip(worked, ("ED", "ES"), strict=True):
                    volume = volume_from_array(scene, array, ijkToRas, f"{cineNode.GetName()} {phase} (frame {index})")
                    created.append(volume)
                    results.append(self._resultNodes(volume, output, options.get("createKeypoints", False)))
                    created += [node for node in (results[-1].segmentationNode, results[-1].keypointsNode) if node]
                return measuredCycle(scene, cineNode.GetName(), results, tableNode, created,
                                     (worked[0][0], worked[1][0]))

        return Task(prepare, work, apply)

    def _resultNodes(self, volumeNode, output, createKeypoints) -> SegmentResult:
        scene = volumeNode.GetScene()
        with created_nodes() as created:  # removed again if anything fails: the scene is left as it was
            segmentation = segmentation_from_labelmap(
                scene, output.labels, _ijkToRas(volumeNode), [segment.name for segment in SEGMENTS],
                f"{volumeNode.GetName()} segmentation", reference_volume=volumeNode)
            created.append(segmentation)
            for index, structure in enumerate(SEGMENTS):
                segment = segmentation.GetSegmentation().GetNthSegment(index)
                segment.SetColor(*[value / 255.0 for value in structure.colour])
                segment.SetTerminology(structure.terminology)
            segmentation.SetAndObserveTransformNodeID(volumeNode.GetTransformNodeID())
            placeBeside(segmentation, volumeNode)
            keypoints = None
            if createKeypoints:
                keypoints = fiducials_from_points(scene, output.keypoints, f"{volumeNode.GetName()} KAF keypoints")
                keypoints.SetAndObserveTransformNodeID(volumeNode.GetTransformNodeID())
                keypoints.GetDisplayNode().SetPointLabelsVisibility(False)
                created.append(keypoints)
                placeBeside(keypoints, volumeNode)
        for text in output.warnings + ([] if output.quality.ok else output.quality.reasons):
            logging.warning(f"{volumeNode.GetName()}: {text}")
        return SegmentResult(segmentation, output.volumes_ml, output.quality, keypoints,
                             [f"{volumeNode.GetName()}: {text}" for text in output.warnings])


def _ijkToRas(volumeNode):
    from KeypointMRMLLib.volumes import ijk_to_ras_of

    return ijk_to_ras_of(volumeNode)


def readVolume(volumeNode, role: str):
    """(array [k, j, i], IJK->RAS) of a 3D scalar volume node, or an InputError that says what to give instead."""
    if volumeNode is None:
        raise InputError(f"Select a {role}: a short-axis cine MRI frame.")
    if volumeNode.IsA("vtkMRMLLabelMapVolumeNode") or volumeNode.IsA("vtkMRMLVectorVolumeNode") or not volumeNode.IsA(
            "vtkMRMLScalarVolumeNode"):
        raise InputError(f"The {role} {volumeNode.GetName()!r} is a {volumeNode.GetClassName()}; give a scalar "
                         "short-axis MRI volume (not a label map, a colour image or a vector volume).")
    parent = volumeNode.GetParentTransformNode()
    if parent is not None and not parent.IsTransformToWorldLinear():
        raise InputError(f"The {role} {volumeNode.GetName()!r} is under the non-linear transform "
                         f"{parent.GetName()!r}: harden it first, or remove it.")
    data = array_from_volume(volumeNode)
    if data.array.ndim != 3 or min(data.array.shape) < 1:
        raise InputError(f"The {role} {volumeNode.GetName()!r} is not a 3D stack.")
    if data.array.shape[0] == 1 and min(data.array.shape[1:]) > 1:
        raise InputError(f"The {role} {volumeNode.GetName()!r} is a single 2D slice: KeypointSeg segments a "
                         "short-axis stack (several slices).")
    return data.array, data.ijk_to_ras


def placeBeside(node, volumeNode) -> None:
    """Put `node` under the same subject hierarchy parent as `volumeNode` (its study or patient)."""
    import slicer

    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(volumeNode.GetScene())
    if hierarchy is None:
        return
    volumeItem = hierarchy.GetItemByDataNode(volumeNode)
    parent = hierarchy.GetItemParent(volumeItem) if volumeItem else hierarchy.GetSceneItemID()
    item = hierarchy.GetItemByDataNode(node)
    if item:
        hierarchy.SetItemParent(item, parent)
    else:  # Slicer's application makes the item when the node is added; slicer-core alone does not
        hierarchy.CreateItem(parent, node)


def measuredCycle(scene, name: str, results: list, tableNode, created: list, frames=None) -> CycleResult:
    """The ventricular function of an (ED, ES) pair of results, in a table node (new, added to `created`, unless
    `tableNode` is given)."""
    from KeypointEngineLib.cardiac.measurements import cardiac_function

    ed, es = results
    function = cardiac_function(ed.volumesMl, es.volumesMl)
    table = measurementTable(scene, function, ed, es, f"{name} cardiac function", tableNode)
    if table is not tableNode:
        created.append(table)
    return CycleResult(ed, es, function, table, frames)


def measurementTable(scene, function: dict, ed: SegmentResult, es: SegmentResult | None, name: str, node=None):
    """A table node: one row per measurement (the function, then each structure's ED and ES volume; a single frame:
    its volumes)."""
    import vtk

    if es is None:
        rows = [(f"{structure} (mL)", value) for structure, value in ed.volumesMl.items()]
    else:
        rows = list(function.items())
        for phase, result in (("ED", ed), ("ES", es)):
            rows += [(f"{structure} {phase} (mL)", value) for structure, value in result.volumesMl.items()]
    if node is None:
        node = scene.AddNewNodeByClass("vtkMRMLTableNode", name)
    table = node.GetTable()
    table.Initialize()
    names, values = vtk.vtkStringArray(), vtk.vtkDoubleArray()
    names.SetName("Measurement")
    values.SetName("Value")
    for label, value in rows:
        names.InsertNextValue(label)
        values.InsertNextValue(float(value))
    table.AddColumn(names)
    table.AddColumn(values)
    node.Modified()
    return node
