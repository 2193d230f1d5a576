"""SP3D detection and matching: names, defaults and valid ranges, defined once for the engine, the GUI, the logic and
the CLI. Imports nothing heavy (the CLI's parser and Slicer's panel use it before torch is installed)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from KeypointEngineLib.retina.parameters import Range

# the first is the default, chosen by `bench detect` (README): the shipped SP3D model repeats and matches far less
# well than the classical detector on the held-out volumes, so "hessian" leads until a model beats it there
FEATURE_BACKENDS = ("hessian", "sp3d")
MATCH_MODELS = ("rigid", "similarity", "affine")  # the first is the default: scans of one patient move rigidly

MAX_KEYPOINTS = Range("maximum number of keypoints", 500, 10, 20_000, "", "500 suits registration.")
THRESHOLD = Range("detection threshold", 0.005, 0.0, 0.99, "", "lower finds more, weaker keypoints.")
NMS_MM = Range("non-maximum suppression radius", 4.0, 0.0, 50.0, "mm", "4 mm keeps keypoints apart.")
SPACING_MM = Range("working spacing", 2.0, 0.5, 8.0, "mm", "2 mm suits CT and MRI alike.")
BORDER_MM = Range("border", 4.0, 0.0, 50.0, "mm", "keypoints stay this far inside the body or mask.")
INLIER_MM = Range("inlier distance", 4.0, 0.5, 50.0, "mm", "4 mm is the accuracy a match must reach.")
RATIO = Range("ratio test", 0.95, 0.5, 1.0, "", "1 disables it.")


@dataclass(frozen=True)
class DetectionOptions:
    max_keypoints: int = int(MAX_KEYPOINTS.default)
    threshold: float = THRESHOLD.default
    nms_mm: float = NMS_MM.default
    spacing_mm: float = SPACING_MM.default
    border_mm: float = BORDER_MM.default

    def check(self) -> DetectionOptions:
        """These options, or an InputError that says which is out of range and what to use."""
        for field, parameter in zip(fields(self), (MAX_KEYPOINTS, THRESHOLD, NMS_MM, SPACING_MM, BORDER_MM),
                                    strict=True):
            parameter.check(getattr(self, field.name))
        return self
