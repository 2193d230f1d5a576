"""Sample data for KeypointAlign: a retinal pair with a known transform, made at run time from a real photograph."""

from __future__ import annotations

from pathlib import Path

from KeypointMRMLLib.images2d import SLICER_2D_IJK_TO_RAS, read_image_2d
from KeypointMRMLLib.volumes import volume_from_array


def sample_retina_path() -> Path:
    """scikit-image's real colour fundus photograph (1411 x 1411 RGB), shipped inside the package: no download."""
    import skimage.data

    return Path(skimage.data.__file__).parent / "retina.jpg"


def add_sample_pair(scene, seed: int = 0):
    """Add 'retina fixed' and 'retina moving' (re-photographed by a camera moved by a known warp) to `scene`.

    Returns (fixedNode, movingNode, pair) where pair.warp maps moving px to fixed px and
    pair.mean_error_px(model) scores an estimate.
    """
    from KeypointEvaluationLib.retina.synthetic import make_pair

    pair = make_pair(read_image_2d(sample_retina_path()).array[0], seed)
    fixed = volume_from_array(scene, pair.fixed[None], SLICER_2D_IJK_TO_RAS, "retina fixed")
    moving = volume_from_array(scene, pair.moving[None], SLICER_2D_IJK_TO_RAS, "retina moving")
    return fixed, moving, pair
