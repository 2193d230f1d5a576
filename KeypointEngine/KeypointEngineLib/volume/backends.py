"""The 3D keypoint backends, kept loaded in one pool: "sp3d" (the shipped SP3DNet, on the GPU when there is one) and
"hessian" (the classical Hessian-determinant detector with a rotation-invariant descriptor, on the CPU)."""

from __future__ import annotations

from KeypointEngineLib.backends import BackendPool


def _sp3d(device):
    from KeypointEngineLib.volume.extract import SP3DExtractor

    return SP3DExtractor(device=device)


def _hessian(device):
    from KeypointEngineLib.volume.classical import ClassicalExtractor

    return ClassicalExtractor("Hessian-3D")


VOLUME_BACKENDS = BackendPool({"sp3d": _sp3d, "hessian": _hessian})
