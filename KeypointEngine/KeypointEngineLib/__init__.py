"""KeypointEngine: the shared PyTorch inference engine of SlicerKeypoints.

Knows nothing of Slicer or MRML: it takes numpy arrays (indexed [k, j, i] like slicer.util) plus a 4x4 IJK->RAS
matrix, and returns results in the same convention.
"""

from KeypointEngineLib.device import DeviceChoice, choose_device, configure_threads
from KeypointEngineLib.jobs import CancelToken, Job, JobCancelled
from KeypointEngineLib.registry import ChecksumMismatch, ModelCard, ModelRegistry, default_registry
from KeypointEngineLib.tiling import tiled_inference

__all__ = [
    "CancelToken",
    "ChecksumMismatch",
    "DeviceChoice",
    "Job",
    "JobCancelled",
    "ModelCard",
    "ModelRegistry",
    "choose_device",
    "configure_threads",
    "default_registry",
    "tiled_inference",
]
