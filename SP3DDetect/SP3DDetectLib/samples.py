"""SP3DDetect's sample data: nilearn's MNI152 T1 template (a real 1 mm MRI, shipped inside the nilearn package), and a
second scan of it made under a known rigid repositioning, for the demo and the module's self-test."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from KeypointEngineLib.errors import BrokenInstallation

MNI_T1 = "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"


def mni_t1_path() -> Path:
    try:
        import nilearn.datasets
    except ImportError as error:
        raise BrokenInstallation("The SP3D sample volume comes with nilearn: pip install nilearn (the standalone "
                                 "extra installs it).") from error
    path = Path(nilearn.datasets.__file__).parent / "data" / MNI_T1
    if not path.is_file():
        raise BrokenInstallation(f"nilearn is installed without its MNI template ({path}); reinstall nilearn.")
    return path


def sample_motion(seed: int = 0) -> tuple[float, np.ndarray]:
    """(angle, 4x4 RAS fixed -> moving): a 25-degree turn about an oblique axis through the head and a 15 mm shift."""
    from KeypointEvaluationLib.volume.cases import repositioning

    return 25.0, repositioning(np.random.default_rng(seed), 25.0, 15.0, np.array([0.0, -18.0, 18.0]))


def add_sample_pair(scene, seed: int = 0):
    """(fixed node "MNI152 T1", moving node "MNI152 T1 moved", true fixed -> moving RAS matrix) in `scene`."""
    from KeypointEvaluationLib.volume.cases import move_and_rescan, read_volume
    from KeypointMRMLLib.volumes import volume_from_array

    volume = read_volume(mni_t1_path())
    _, motion = sample_motion(seed)
    moved = move_and_rescan(volume, motion, np.random.default_rng(seed), cut=0.0)
    fixed = volume_from_array(scene, volume.array, volume.ijk_to_ras, "MNI152 T1")
    moving = volume_from_array(scene, moved.array, moved.ijk_to_ras, "MNI152 T1 moved")
    return fixed, moving, motion
