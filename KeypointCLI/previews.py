"""PNG previews of volumes for the README, reports and people without Slicer at hand."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Scale to 0..255 using the 0.5-99.5 percentile window, as a viewer's auto window/level would."""
    if image.dtype == np.uint8:
        return image
    low, high = np.percentile(image, [0.5, 99.5])
    return np.clip((image - low) / max(high - low, 1e-9) * 255, 0, 255).astype(np.uint8)


def write_image(path: Path | str, image: np.ndarray) -> Path:
    """Write a 2D grey [rows, cols] or RGB [rows, cols, 3] image; the format follows the name (.png, .jpg)."""
    from KeypointCLI.outputs import atomic_output

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = to_uint8(np.asarray(image))
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    with atomic_output(path) as temporary:
        if not cv2.imwrite(str(temporary), image):
            raise OSError(f"Could not write {path}.")
    return path

