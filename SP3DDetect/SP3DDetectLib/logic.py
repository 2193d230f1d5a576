"""SP3DDetectLogic: learned 3D keypoints (SP3D) of CT and MRI volume nodes as markups fiducials, and two volumes
matched by their descriptors into a linear transform node.

A plain class (no ScriptedLoadableModuleLogic, which slicer-core lacks): it runs in Slicer, its Python console,
`Slicer --no-main-window` batch scripts and on the slicer-core wheel. Heavy engine imports happen inside the methods.
Keypoints are in the volume's own RAS (its parent transform not applied); the nodes made go under that same parent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from KeypointEngineLib.errors import InputError
from KeypointEngineLib.geometry import spacing_of
from KeypointEngineLib.jobs import Task, run_blocking
from KeypointEngineLib.volume.parameters import (
    BORDER_MM,
    FEATURE_BACKENDS,
    INLIER_MM,
    MATCH_MODELS,
    MAX_KEYPOINTS,
    NMS_MM,
    RATIO,
    SPACING_MM,
    THRESHOLD,
    DetectionOptions,
)
from KeypointMRMLLib.markups import fiducials_from_points
from KeypointMRMLLib.scene import created_nodes, temporary_nodes
from KeypointMRMLLib.segmentations import labelmap_from_segmentation
from KeypointMRMLLib.transforms import linear_transform_from_registration
from KeypointMRMLLib.volumes import array_from_volume, ijk_to_ras_of


@dataclass
class DetectResult:
    keypointsNode: object  # markups fiducials "<volume> keypoints", K0001..., score in each description
    features: object  # the engine's Features: keypoints (N, 3) RAS mm in the volume's space, scores, descriptors
    warnings: list = field(default_factory=list)  # what about the volume makes the keypoints less reliable


@dataclass
class MatchResult:
    transformNode: object | None  # applied to the moving volume, aligns it with the fixed one; None on failure
    report: object  # KeypointEngineLib.registration.RegistrationReport (residuals in mm)
    registration: object
    fiducialNodes: list = field(default_factory=list)  # [fixed matched keypoints, moving matched keypoints]
    warnings: list = field(default_factory=list)  # about either volume's sampling (coverage_warnings)


class SP3DDetectLogic:
    def __init__(self, extractor=None):
        self._extractor = extractor  # None: the chosen backend, from the engine's pool (loaded once per process)

    def extractor(self, device=None, features=FEATURE_BACKENDS[0]):
        if self._extractor is not None:
            return self._extractor
        from KeypointEngineLib.volume.backends import VOLUME_BACKENDS

        return VOLUME_BACKENDS.get(features, device)

    def detect(self, volumeNode, maxKeypoints=int(MAX_KEYPOINTS.default), threshold=THRESHOLD.default,
               nmsRadiusMm=NMS_MM.default, workingSpacingMm=SPACING_MM.default, borderMm=BORDER_MM.default,
               maskNode=None, device=None, features=FEATURE_BACKENDS[0], job=None) -> DetectResult:
        """Keypoints of `volumeNode` (a 3D scalar volume, any geometry) into a new markups fiducial node.

        `maskNode` (a segmentation, or a label map of any geometry) limits where keypoints may be; otherwise the
        body is found automatically. `features`: the keypoint backend (FEATURE_BACKENDS: "sp3d" learned, "hessian"
        classical). `job` reports progress and can cancel (JobCancelled; the scene is as it was).
        """
        return run_blocking(self.detectionTask(volumeNode, maxKeypoints, threshold, nmsRadiusMm, workingSpacingMm,
                                               borderMm, maskNode, device, features), job)

    def detectionTask(self, volumeNode, maxKeypoints=int(MAX_KEYPOINTS.default), threshold=THRESHOLD.default,
                      nmsRadiusMm=NMS_MM.default, workingSpacingMm=SPACING_MM.default, borderMm=BORDER_MM.default,
                      maskNode=None, device=None, features=FEATURE_BACKENDS[0]) -> Task:
        """detect() as a Task (prepare -> work -> apply), for the GUI to run the work off Qt's main thread."""
        options = DetectionOptions(int(maxKeypoints), threshold, nmsRadiusMm, workingSpacingMm, borderMm).check()
        checkFeatures(features)

        def prepare():
            volume = readVolume(volumeNode, "volume")
            return volume, readMask(maskNode, volume)

        def work(prepared, job):
            (array, ijkToRas, _), mask = prepared
            return self.extractor(device, features).extract(array, ijkToRas, options, mask, job)

        def apply(features):
            return DetectResult(keypointsNode(volumeNode, features), features, volumeWarnings(volumeNode, options))

        return Task(prepare, work, apply)

    def match(self, fixedVolume, movingVolume, model=MATCH_MODELS[0], maxKeypoints=int(MAX_KEYPOINTS.default),
              inlierMm=INLIER_MM.default, ratioTest=RATIO.default, workingSpacingMm=SPACING_MM.default,
              threshold=THRESHOLD.default, device=None, outputTransform=None, createInlierFiducials=True,
              features=FEATURE_BACKENDS[0], job=None) -> MatchResult:
        """Match `movingVolume` to `fixedVolume` by their keypoints: a linear transform node (rigid by default)
        that, applied to the moving volume, aligns it with the fixed one, and the matched keypoints of both as
        fiducials sharing index and label (M0001...). On failure the report says why and nothing is added."""
        return run_blocking(self.matchTask(fixedVolume, movingVolume, model, maxKeypoints, inlierMm, ratioTest,
                                           workingSpacingMm, threshold, device, outputTransform,
                                           createInlierFiducials, features), job)

    def matchTask(self, fixedVolume, movingVolume, model=MATCH_MODELS[0], maxKeypoints=int(MAX_KEYPOINTS.default),
                  inlierMm=INLIER_MM.default, ratioTest=RATIO.default, workingSpacingMm=SPACING_MM.default,
                  threshold=THRESHOLD.default, device=None, outputTransform=None,
                  createInlierFiducials=True, features=FEATURE_BACKENDS[0]) -> Task:
        """match() as a Task (prepare -> work -> apply)."""
        checkFeatures(features)
        if model not in MATCH_MODELS:
            raise InputError(f"Unknown transform model {model!r}: use one of {', '.join(MATCH_MODELS)}.")
        INLIER_MM.check(inlierMm)
        RATIO.check(ratioTest)
        options = DetectionOptions(int(maxKeypoints), threshold, spacing_mm=workingSpacingMm).check()
        if outputTransform is not None and not outputTransform.IsA("vtkMRMLLinearTransformNode"):
            raise InputError(f"The output transform {outputTransform.GetName()!r} is not a linear transform; choose "
                             "one, or 'Create new transform'.")

        def prepare():
            if fixedVolume is movingVolume:
                raise InputError("Select two different volumes to match.")
            fixed, moving = readVolume(fixedVolume, "fixed volume"), readVolume(movingVolume, "moving volume")
            if moving[2] is not None:
                raise InputError(f"The moving volume {movingVolume.GetName()!r} is under a transform, which the match "
                                 "would replace: harden it (Data module: right-click, Harden transform) or remove it.")
            return fixed, moving

        def work(volumes, job):
            from KeypointEngineLib.volume.matching import match_volumes

            (fixedArray, fixedIjkToRas, _), (movingArray, movingIjkToRas, _) = volumes
            extractor = self.extractor(device, features)
            fixedFeatures = extractor.extract(fixedArray, fixedIjkToRas, options, job=job.scaled(0.0, 0.45))
            movingFeatures = extractor.extract(movingArray, movingIjkToRas, options, job=job.scaled(0.45, 0.9))
            extent = float(np.prod(np.array(fixedArray.shape) * spacing_of(fixedIjkToRas)[::-1]))
            registration = match_volumes(fixedFeatures, movingFeatures, model, inlierMm, ratioTest, extent,
                                         job=job.scaled(0.9, 1.0))
            registration.report.device = str(extractor.device)
            return volumes, registration

        def apply(worked):
            ((_, _, fixedParent), _), registration = worked
            warnings = volumeWarnings(fixedVolume, options) + volumeWarnings(movingVolume, options)
            if not registration.report.success:
                return MatchResult(None, registration.report, registration, warnings=warnings)
            scene = fixedVolume.GetScene()
            with created_nodes() as created:  # removed again if anything fails: the scene is left as it was
                node = linear_transform_from_registration(scene, registration.model.forward,
                                                          f"{movingVolume.GetName()} to {fixedVolume.GetName()}",
                                                          node=outputTransform)
                if node is not outputTransform:
                    created.append(node)
                    node.SetAndObserveTransformNodeID(fixedParent)
                fiducials = []
                if createInlierFiducials:
                    labels = [f"M{index + 1:04d}" for index in range(registration.report.inliers)]
                    for volume, points, parent in ((fixedVolume, registration.fixed_points, fixedParent),
                                                   (movingVolume, registration.moving_points, node.GetID())):
                        markups = fiducials_from_points(scene, points, f"{volume.GetName()} matched keypoints",
                                                        labels=labels)
                        markups.SetAndObserveTransformNodeID(parent)
                        created.append(markups)
                        fiducials.append(markups)
            return MatchResult(node, registration.report, registration, fiducials, warnings)

        return Task(prepare, work, apply)


def checkFeatures(features: str) -> None:
    if features not in FEATURE_BACKENDS:
        raise InputError(f"Unknown keypoint backend {features!r}: use one of {', '.join(FEATURE_BACKENDS)}.")


def readVolume(volumeNode, role: str):
    """(array [k, j, i], IJK->RAS, parent transform node ID or None) of a 3D scalar volume node, or an InputError
    that says what to give instead."""
    if volumeNode is None:
        raise InputError(f"Select a {role}.")
    if volumeNode.IsA("vtkMRMLLabelMapVolumeNode") or volumeNode.IsA("vtkMRMLVectorVolumeNode") or not volumeNode.IsA(
            "vtkMRMLScalarVolumeNode"):
        raise InputError(f"The {role} {volumeNode.GetName()!r} is a {volumeNode.GetClassName()}; give a scalar CT or "
                         "MRI volume (not a label map, a colour image or a vector volume).")
    parent = volumeNode.GetParentTransformNode()
    if parent is not None and not parent.IsTransformToWorldLinear():
        raise InputError(f"The {role} {volumeNode.GetName()!r} is under the non-linear transform "
                         f"{parent.GetName()!r}: harden it first, or remove it.")
    data = array_from_volume(volumeNode)
    return data.array, data.ijk_to_ras, (parent.GetID() if parent is not None else None)


def volumeWarnings(volumeNode, options: DetectionOptions) -> list[str]:
    """coverage_warnings of a volume node, each naming the volume, and logged (Slicer's Python console shows them)."""
    import logging

    from KeypointEngineLib.volume.preprocess import coverage_warnings

    shape = volumeNode.GetImageData().GetDimensions()[::-1]
    warnings = [f"{volumeNode.GetName()}: {text}" for text in
                coverage_warnings(shape, ijk_to_ras_of(volumeNode), options.spacing_mm)]
    for text in warnings:
        logging.warning(text)
    return warnings


def readMask(maskNode, volume) -> np.ndarray | None:
    """The mask [k, j, i] on the volume's grid from a segmentation (all its segments) or a label map of any
    geometry (its non-zero voxels); None without a mask. Temporary nodes are removed again."""
    if maskNode is None:
        return None
    array, ijkToRas, _ = volume
    if maskNode.IsA("vtkMRMLSegmentationNode"):
        return labelmap_from_segmentation(maskNode, array.shape, ijkToRas) > 0
    if not maskNode.IsA("vtkMRMLLabelMapVolumeNode"):
        raise InputError(f"The mask {maskNode.GetName()!r} is a {maskNode.GetClassName()}; give a segmentation or a "
                         "label map.")
    import slicer

    scene = maskNode.GetScene()
    with temporary_nodes(scene):  # through a segmentation: Slicer's own resampling of a label map onto a grid
        segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", f"{maskNode.GetName()} (mask)")
        if not slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(maskNode, segmentation):
            raise InputError(f"The label map {maskNode.GetName()!r} could not be read as a mask.")
        return labelmap_from_segmentation(segmentation, array.shape, ijkToRas) > 0


def keypointsNode(volumeNode, features):
    """A markups fiducial node "<volume> keypoints": K0001... strongest first, the score in each description, under
    the volume's own parent transform."""
    count = len(features)
    node = fiducials_from_points(volumeNode.GetScene(), features.keypoints, f"{volumeNode.GetName()} keypoints",
                                 labels=[f"K{index + 1:04d}" for index in range(count)],
                                 descriptions=[f"score {score:.5f}" for score in features.scores])
    node.SetAndObserveTransformNodeID(volumeNode.GetTransformNodeID())
    node.GetDisplayNode().SetPointLabelsVisibility(False)
    return node
