"""KeypointSeg's parameters: names, defaults and valid ranges, defined once for the engine, GUI, logic and CLI.
Imports nothing heavy (the CLI's parser and Slicer's panel use it before torch is installed)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from KeypointEngineLib.retina.parameters import Range

MODELS = ("kaf-unet", "unet")  # the first is the default: the shipped KAF-UNet; "unet" the plain baseline
FRAMES = ("ED", "ES")  # the cine frames segmented by default

BATCH_SLICES = Range("slices per batch", 8, 1, 256, "", "8 suits a laptop; more is faster on a GPU.")
SPACING_MM = Range("in-plane working spacing", 1.25, 0.5, 4.0, "mm", "the shipped models were trained at 1.25 mm.")
KEYPOINTS = Range("keypoints per 128² px", 128, 1, 1024, "",
                  "128 SIFT keypoints per 16 cm square of a slice, as trained.")


@dataclass(frozen=True)
class SegmentOptions:
    batch_slices: int = int(BATCH_SLICES.default)
    spacing_mm: float = SPACING_MM.default
    keypoints: int = int(KEYPOINTS.default)
    postprocess: bool = True  # MONAI KeepLargestConnectedComponent + FillHoles per structure

    def check(self) -> SegmentOptions:
        """These options, or an InputError that says which is out of range and what to use."""
        for field, parameter in zip(fields(self)[:3], (BATCH_SLICES, SPACING_MM, KEYPOINTS), strict=True):
            parameter.check(getattr(self, field.name))
        return self
