"""The retinal keypoint backends, kept loaded in one pool: "sift" (OpenCV) and "learned" (the shipped
RetinaKeypointNet, on the GPU when there is one)."""

from __future__ import annotations

from KeypointEngineLib.backends import BackendPool


def _sift(device):
    from KeypointEngineLib.retina.sift import SiftExtractor

    return SiftExtractor()


def _learned(device):
    from KeypointEngineLib.retina.learned import LearnedExtractor

    return LearnedExtractor(device=device)


RETINA_BACKENDS = BackendPool({"sift": _sift, "learned": _learned}, cpu_only=("sift",))
