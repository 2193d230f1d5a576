"""KeypointSeg's part of `slicer-keypoints demo`: a short-axis phantom made at run time (labelled as such) at
end-diastole and end-systole segmented and measured, and, when ../shared/data is present, the ACDC sample patient
patient080 (a validation patient: never trained on) against its expert labels; into the demo scene, with a preview
and a report beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def run_demo(scene, output: Path, seed: int = 0) -> int:
    """Segment into `scene`; write the preview and report under `output`. 0, or 1 on failure."""
    from KeypointCLI.outputs import write_json
    from KeypointCLI.previews import write_image
    from KeypointEngineLib.registry import default_registry
    from KeypointEvaluationLib.cardiac.phantom import short_axis_phantom
    from KeypointMRMLLib.volumes import volume_from_array
    from KeypointSegLib.logic import KeypointSegLogic

    if "kaf-unet" not in {card.name for card in default_registry().cards()}:
        print("KeypointSeg: the kaf-unet model is not installed; its demo is skipped.")
        return 0
    logic = KeypointSegLogic()
    frames = [short_axis_phantom(systole=phase, seed=seed) for phase in (0.0, 1.0)]
    nodes = [volume_from_array(scene, frame.image, frame.ijk_to_ras, f"Short-axis phantom {name} (synthetic)")
             for frame, name in zip(frames, ("ED", "ES"), strict=True)]
    cycle = logic.segmentCycle(*nodes)
    report = {"phantom": {"function": cycle.function, "quality_ok": cycle.ok,
                          "dice": _dice_of(_labels(cycle.endDiastole, frames[0]), frames[0].labels,
                                          frames[0].ijk_to_ras)}}
    print(f"KeypointSeg: phantom (synthetic) LV ejection fraction {cycle.function['LV ejection fraction (%)']:.0f} % "
          f"(truth {_truth_ef(frames):.0f} %), quality {'ok' if cycle.ok else 'doubtful'}")
    preview = [_overlay(frames[0].image, _labels(cycle.endDiastole, frames[0]))]
    sample = _acdc_sample()
    if sample is not None:
        node = volume_from_array(scene, sample.image, sample.ijk_to_ras, f"ACDC {sample.patient} {sample.phase}")
        result = logic.segment(node)
        labels = _labels(result, sample)
        dice = _dice_of(labels, sample.labels, sample.ijk_to_ras)
        report["acdc_sample"] = {"patient": sample.patient, "phase": sample.phase, "dice": dice,
                                 "volumes_ml": result.volumesMl, "quality_ok": result.quality.ok}
        print(f"KeypointSeg: ACDC {sample.patient} {sample.phase} (validation patient) Dice against the expert "
              f"labels: " + ", ".join(f"{name} {value:.3f}" for name, value in dice.items()))
        preview.append(_overlay(sample.image, labels))
    previews = output / "previews"
    height = min(panel.shape[0] for panel in preview)
    write_image(previews / "KeypointSeg.png", np.hstack([panel[:height] for panel in preview]))
    write_json(output / "keypointseg-report.json", report)
    print(f"Preview: {previews}/KeypointSeg.png")
    return 0


def _acdc_sample():
    from KeypointCLI.benchmarks import data_folder
    from KeypointEvaluationLib.cardiac.datasets import read_h5_frame

    path = data_folder(None) / "acdc-sample" / "patient080_frame01.h5"
    if not path.is_file():
        print("KeypointSeg: ../shared/data/acdc-sample not found; the ACDC part of the demo is skipped.")
        return None
    return read_h5_frame(path)


def _labels(result, frame) -> np.ndarray:
    from KeypointMRMLLib.segmentations import labelmap_from_segmentation

    return labelmap_from_segmentation(result.segmentationNode, frame.image.shape, frame.ijk_to_ras)


def _dice_of(labels: np.ndarray, truth: np.ndarray, ijk_to_ras: np.ndarray) -> dict[str, float]:
    from KeypointEvaluationLib.cardiac.benchmark import score  # the benchmark's own Dice (MONAI)

    return score(labels, truth, ijk_to_ras)[0]


def _truth_ef(frames) -> float:
    ed, es = ((frame.labels == 3).sum() for frame in frames)
    return 100.0 * (ed - es) / ed


def _overlay(image: np.ndarray, labels: np.ndarray, height: int = 320) -> np.ndarray:
    """RGB: the middle slice with the structures' outlines in their segment colours."""
    import cv2

    from KeypointCLI.previews import to_uint8
    from KeypointSegLib.terminology import SEGMENTS

    middle = image.shape[0] // 2
    rgb = cv2.cvtColor(to_uint8(image[middle]), cv2.COLOR_GRAY2RGB)
    for structure in SEGMENTS:
        contours, _ = cv2.findContours((labels[middle] == structure.label).astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(rgb, contours, -1, tuple(int(c) for c in structure.colour), 1)
    width = round(height * rgb.shape[1] / rgb.shape[0])
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_NEAREST)
