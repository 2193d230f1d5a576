"""SP3DDetect's part of `slicer-keypoints demo`: keypoints of the MNI152 T1 template, and the template matched to a
second scan of itself under a known rigid motion, into the demo scene; a preview and the report beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def run_demo(scene, output: Path, seed: int = 0) -> int:
    """Detect and match into `scene`; write the preview and report under `output`. 0, or 1 on failure."""
    from KeypointCLI.outputs import write_json
    from KeypointCLI.previews import write_image
    from KeypointEngineLib.volume.preprocess import to_working_grid
    from KeypointEvaluationLib.volume.metrics import grid_points, target_registration_error
    from SP3DDetectLib.logic import SP3DDetectLogic
    from SP3DDetectLib.samples import add_sample_pair

    fixed, moving, motion = add_sample_pair(scene, seed)
    logic = SP3DDetectLogic()
    detected = logic.detect(fixed)
    print(f"SP3DDetect: {len(detected.features)} keypoints in {fixed.GetName()!r}")
    result = logic.match(fixed, moving)
    print(f"SP3DDetect: {result.report.summary()}")
    if not result.report.success:
        return 1
    moving.SetAndObserveTransformNodeID(result.transformNode.GetID())  # as the GUI shows it: moving aligned
    from KeypointMRMLLib.volumes import array_from_volume

    volume = array_from_volume(fixed)
    working = to_working_grid(volume.array, volume.ijk_to_ras)
    error = target_registration_error(result.registration.model.forward, motion, grid_points(working))
    print(f"Mean error against the known motion on a 10 mm grid in the head: {error:.2f} mm")
    previews = output / "previews"
    write_image(previews / "SP3DDetect.png", keypoint_slices(volume.array, volume.ijk_to_ras, detected.features))
    write_json(output / "sp3d-match-report.json", {**result.report.to_dict(), "tre_mm": error})
    print(f"Preview: {previews}/SP3DDetect.png")
    return 0


def keypoint_slices(array: np.ndarray, ijk_to_ras: np.ndarray, features, thickness_mm: float = 6.0,
                    height: int = 320) -> np.ndarray:
    """RGB: the middle axial, coronal and sagittal slices of the volume (voxel axes) side by side, with the keypoints
    within `thickness_mm` of each slice marked."""
    import cv2

    from KeypointCLI.previews import to_uint8
    from KeypointEngineLib.geometry import ijk_from_ras

    points = ijk_from_ras(features.keypoints, ijk_to_ras)  # (i, j, k)
    spacing = np.linalg.norm(ijk_to_ras[:3, :3], axis=0)
    panels = []
    for axis in (2, 1, 0):  # k, j, i
        middle = array.shape[2 - axis] // 2
        image = np.take(array, middle, axis=2 - axis)
        rgb = cv2.cvtColor(to_uint8(image), cv2.COLOR_GRAY2RGB)
        near = np.abs(points[:, axis] - middle) * spacing[axis] <= thickness_mm / 2
        columns = [index for index in (0, 1, 2) if index != axis]  # (column, row) = the slice's remaining axes
        for point in points[near]:
            cv2.circle(rgb, (int(round(point[columns[0]])), int(round(point[columns[1]]))), 2, (255, 60, 30), -1)
        width = round(height * rgb.shape[1] * spacing[columns[0]] / (rgb.shape[0] * spacing[columns[1]]))
        panels.append(cv2.resize(np.flipud(rgb), (width, height), interpolation=cv2.INTER_AREA))
    return np.hstack(panels)
