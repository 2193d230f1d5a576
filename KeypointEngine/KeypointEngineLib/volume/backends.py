"""The 3D keypoint backends, kept loaded in one pool: "sp3d" (the shipped SP3DNet, on the GPU when there is one)."""

from __future__ import annotations

from KeypointEngineLib.backends import BackendPool


def _sp3d(device):
    from KeypointEngineLib.volume.extract import SP3DExtractor

    return SP3DExtractor(device=device)


VOLUME_BACKENDS = BackendPool({"sp3d": _sp3d})
