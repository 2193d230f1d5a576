"""KeypointAlignLogic: register two retinal images held in volume nodes; results become transform and fiducial nodes.

A plain class (no ScriptedLoadableModuleLogic, which slicer-core lacks): it runs in Slicer, in Slicer's Python console,
in `Slicer --no-main-window` batch scripts and on the slicer-core wheel. Heavy engine imports happen inside the
methods, so Slicer can load the module before the engine's packages are installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from KeypointEngineLib.errors import InputError
from KeypointEngineLib.geometry import ras_from_ijk
from KeypointEngineLib.jobs import Task, run_blocking
from KeypointEngineLib.retina.parameters import (
    FEATURE_BACKENDS,
    RATIO_TEST,
    WORKING_SIZE,
    check_options,
)
from KeypointMRMLLib.markups import fiducials_from_points
from KeypointMRMLLib.scene import created_nodes
from KeypointMRMLLib.transforms import FROM_PARENT, grid_transform_from_displacement, linear_transform_from_matrix
from KeypointMRMLLib.volumes import array_from_volume, volume_from_array

DEFAULT_FEATURES = FEATURE_BACKENDS[0]
LINEAR_MODELS = ("similarity", "affine")  # what a linear transform node can hold
GRID_STEP_PX = 8  # displacement grid spacing for non-linear results; the models are smooth, cubic interpolation exact


@dataclass
class AlignResult:
    transformNode: object | None  # None when the registration failed (nothing was added to the scene)
    report: object  # KeypointEngineLib.registration.RegistrationReport
    registration: object  # the engine's Registration (model in pixel coordinates, inlier points)
    fiducialNodes: list = field(default_factory=list)  # [fixed inliers, moving inliers] when requested
    resampledVolume: object | None = None  # the moving image resampled onto the fixed image's grid, when requested


class KeypointAlignLogic:
    """Keypoint models stay loaded in the engine's pool (one per process), so reuse over many pairs is cheap."""

    def register(self, fixedVolume, movingVolume, model="auto", features=DEFAULT_FEATURES, fieldOfViewDegrees=None,
                 workingSize=WORKING_SIZE.default, ratioTest=RATIO_TEST.default, device=None, outputTransform=None,
                 createInlierFiducials=True, createResampledVolume=False, job=None, fixedFieldOfViewDegrees=None,
                 movingFieldOfViewDegrees=None) -> AlignResult:
        """Align `movingVolume` onto `fixedVolume` (single-slice scalar or RGB vector volumes, any spacing/origin).

        Returns an AlignResult whose transformNode, applied to the moving volume, aligns it with the fixed one
        (similarity/affine: linear transform node; projective/quadratic: grid transform node), with, on request, the
        inlier keypoints as fiducials and the moving image resampled on the fixed grid. Fields of view (degrees,
        FIELD_OF_VIEW's range): `fieldOfViewDegrees` for both images, `fixedFieldOfViewDegrees` /
        `movingFieldOfViewDegrees` for one; where one is unknown (None) the moving image's scale is searched over
        0.42-2.4x (see KeypointEngineLib.retina.pipeline). On failure the report
        says why, transformNode is None and the scene is unchanged. `job` (KeypointEngineLib.jobs.Job) reports
        progress and can cancel; a cancelled run raises JobCancelled and leaves the scene as it was. Bad input or
        options raise ValueError before any work.
        """
        return run_blocking(self.registrationTask(
            fixedVolume, movingVolume, model, features, fieldOfViewDegrees, workingSize, ratioTest, device,
            outputTransform, createInlierFiducials, createResampledVolume, fixedFieldOfViewDegrees,
            movingFieldOfViewDegrees), job)

    def registrationTask(self, fixedVolume, movingVolume, model="auto", features=DEFAULT_FEATURES,
                         fieldOfViewDegrees=None, workingSize=WORKING_SIZE.default, ratioTest=RATIO_TEST.default,
                         device=None, outputTransform=None, createInlierFiducials=True, createResampledVolume=False,
                         fixedFieldOfViewDegrees=None, movingFieldOfViewDegrees=None) -> Task:
        """register() as a Task (prepare -> work -> apply, KeypointEngineLib.jobs), for the GUI to run the work off
        Qt's main thread; same arguments, same result."""
        options = dict(model=model, working_size=workingSize, fov_degrees=fieldOfViewDegrees, ratio=ratioTest,
                       fixed_fov_degrees=fixedFieldOfViewDegrees, moving_fov_degrees=movingFieldOfViewDegrees)
        check_options(features=features, **options)
        checkOutputTransform(model, outputTransform)

        def prepare():
            checkPlacement(fixedVolume, movingVolume)
            return retinalPixels(fixedVolume, "fixed"), retinalPixels(movingVolume, "moving")

        def work(pixels, job):
            from KeypointEngineLib.retina.pipeline import register_with_features
            from KeypointEngineLib.retina.resampling import warp_moving_to_fixed

            (fixedPixels, _), (movingPixels, _) = pixels
            registration = register_with_features(fixedPixels, movingPixels, features, device, job=job, **options)
            resampled = None
            if createResampledVolume and registration.report.success:
                resampled = warp_moving_to_fixed(movingPixels, registration.model, fixedPixels.shape)
            return pixels, registration, resampled

        def apply(worked):
            ((fixedPixels, fixedIjkToRas), (_, movingIjkToRas)), registration, resampledPixels = worked
            if not registration.report.success:
                return AlignResult(None, registration.report, registration)
            scene = fixedVolume.GetScene()
            if scene is None:  # the scene was closed while the registration ran
                raise InputError("The fixed image is no longer in a scene (was the scene closed?); nothing was added.")
            parentId = fixedVolume.GetTransformNodeID()  # outputs live where the fixed image lives
            with created_nodes() as created:  # removed again if anything fails: the scene is left as it was
                transformNode = self._transformNode(scene, registration.model, fixedPixels.shape, fixedIjkToRas,
                                                    movingIjkToRas, outputTransform,
                                                    f"{movingVolume.GetName()} to {fixedVolume.GetName()}")
                if transformNode is not outputTransform:
                    created.append(transformNode)
                    transformNode.SetAndObserveTransformNodeID(parentId)
                fiducials = []
                if createInlierFiducials:
                    fiducials = self._inlierFiducials(scene, registration, (fixedVolume, fixedIjkToRas),
                                                      (movingVolume, movingIjkToRas), transformNode)
                    created += fiducials
                    fiducials[0].SetAndObserveTransformNodeID(parentId)
                resampled = None
                if resampledPixels is not None:
                    resampled = volume_from_array(scene, resampledPixels[None], fixedIjkToRas,
                                                  f"{movingVolume.GetName()} registered")
                    created.append(resampled)
                    resampled.SetAndObserveTransformNodeID(parentId)
            return AlignResult(transformNode, registration.report, registration, fiducials, resampled)

        return Task(prepare, work, apply)

    def _inlierFiducials(self, scene, registration, fixed, moving, transformNode):
        """Locked, unlabelled fiducials at the inlier keypoints of both images; the moving ones follow the transform,
        so they land on the fixed ones when the result is right."""
        nodes = []
        for points, (volume, ijkToRas), color in ((registration.fixed_points, fixed, (0.2, 0.9, 0.2)),
                                                   (registration.moving_points, moving, (0.9, 0.4, 0.1))):
            node = fiducials_from_points(scene, ras_from_ijk(np.c_[points, np.zeros(len(points))], ijkToRas),
                                         f"{volume.GetName()} matched keypoints", color=color)
            node.GetDisplayNode().SetPointLabelsVisibility(False)
            node.SetLocked(True)
            nodes.append(node)
        nodes[1].SetAndObserveTransformNodeID(transformNode.GetID())
        return nodes

    def _transformNode(self, scene, model, fixedShape, fixedIjkToRas, movingIjkToRas, outputTransform, name):
        """Linear results into a linear node (new, or the chosen one); anything into a chosen grid node; other
        results into a new grid node (checkOutputTransform has refused the combinations that cannot be)."""
        intoGrid = outputTransform is not None and outputTransform.IsA("vtkMRMLGridTransformNode")
        if model.is_linear and not intoGrid:
            toParent = fixedIjkToRas @ _lift(model.inverse) @ np.linalg.inv(movingIjkToRas)
            return linear_transform_from_matrix(scene, toParent, name, node=outputTransform)
        displacement, gridIjkToRas = fixedToMovingDisplacement(model, fixedShape, fixedIjkToRas, movingIjkToRas)
        return grid_transform_from_displacement(scene, displacement, gridIjkToRas, name, FROM_PARENT,
                                                node=outputTransform)


def checkOutputTransform(model: str, outputTransform) -> None:
    """Refuse, before any work, an output node that could not hold the result of `model`: a linear node holds only
    similarity and affine results (auto, projective and quadratic may be non-linear); a grid node holds any."""
    if outputTransform is None or outputTransform.IsA("vtkMRMLGridTransformNode"):
        return
    if not outputTransform.IsA("vtkMRMLLinearTransformNode"):
        raise InputError(f"The output transform {outputTransform.GetName()!r} is neither a linear nor a grid "
                         "transform; choose one of those, or 'Create new transform'.")
    if model not in LINEAR_MODELS:
        raise InputError(f"The linear transform {outputTransform.GetName()!r} can hold only a similarity or affine "
                         f"result, and the {model} model may give a non-linear one: choose similarity or affine, a "
                         "grid transform, or 'Create new transform'.")


def checkPlacement(fixedVolume, movingVolume) -> None:
    """Both images in one scene, the moving one free to go under the new transform (its own would be replaced)."""
    for volume, role in ((fixedVolume, "fixed"), (movingVolume, "moving")):
        if volume is None:
            raise InputError(f"Select a {role} image.")
    if fixedVolume.GetScene() is None or fixedVolume.GetScene() is not movingVolume.GetScene():
        raise InputError("The fixed and moving images must be in the same scene.")
    if movingVolume.GetTransformNodeID():
        parent = movingVolume.GetScene().GetNodeByID(movingVolume.GetTransformNodeID())
        raise InputError(f"The moving image {movingVolume.GetName()!r} is under the transform "
                         f"{parent.GetName() if parent else movingVolume.GetTransformNodeID()!r}, which the "
                         "registration would replace: harden it (Data module: right-click, Harden transform) or "
                         "remove it first.")


def retinalPixels(volume, role: str):
    """The 2D pixel array [rows, cols(, rgb)] and IJK->RAS of a single-slice volume node, or a clear error."""
    if volume is None:
        raise InputError(f"Select a {role} image.")
    data = array_from_volume(volume)
    if data.spatial_shape[0] != 1:
        raise InputError(f"The {role} image {volume.GetName()!r} is a 3D volume with {data.spatial_shape[0]} slices; "
                         "KeypointAlign registers 2D retinal images (single-slice volumes such as loaded PNG/JPEG).")
    pixels = data.array[0]
    if np.issubdtype(pixels.dtype, np.floating) and not np.isfinite(pixels).all():
        bad = int((~np.isfinite(pixels)).sum())
        raise InputError(f"The {role} image {volume.GetName()!r} has {bad} pixels that are not numbers (NaN or "
                         "infinite); replace them (e.g. with 0 outside the field of view) or export the image again.")
    return pixels, data.ijk_to_ras


def fixedToMovingDisplacement(model, fixedShape, fixedIjkToRas, movingIjkToRas, step=GRID_STEP_PX):
    """Displacement field (RAS mm) on a grid over the fixed image: fixed point -> where it lies in the moving image.

    The grid spans slices k = -1, 0, 1 so that interpolation is defined across the single image slice.
    """
    rows, cols = fixedShape[:2]
    xs = np.arange(0, cols - 1 + step, step, dtype=float)
    ys = np.arange(0, rows - 1 + step, step, dtype=float)
    ks = np.array([-1.0, 0.0, 1.0])
    k, y, x = np.meshgrid(ks, ys, xs, indexing="ij")
    fixedPixels = np.c_[x.ravel(), y.ravel()]
    movingPixels = model.fixed_to_moving(fixedPixels)
    fixedRas = ras_from_ijk(np.c_[fixedPixels, k.ravel()], fixedIjkToRas)
    movingRas = ras_from_ijk(np.c_[movingPixels, k.ravel()], movingIjkToRas)
    displacement = (movingRas - fixedRas).reshape(len(ks), len(ys), len(xs), 3)
    gridIjkToRas = fixedIjkToRas @ np.array([[step, 0, 0, 0], [0, step, 0, 0], [0, 0, 1, -1], [0, 0, 0, 1.0]])
    return displacement, gridIjkToRas


def _lift(matrix2d: np.ndarray) -> np.ndarray:
    """A 3x3 affine on (x, y) pixels as a 4x4 on (i, j, k) voxel indices, leaving k unchanged."""
    lifted = np.eye(4)
    lifted[:2, :2] = matrix2d[:2, :2]
    lifted[:2, 3] = matrix2d[:2, 2]
    return lifted
