"""Which torch device runs inference, and how many CPU threads it may use. torch is imported only when a device is
chosen, so the CLI's parser can offer the choices without it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from KeypointEngineLib.errors import InputError

DEVICE_ENV = "KEYPOINT_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceUnavailable(InputError):
    """An accelerator was asked for that this machine or torch build does not have: an option to change."""


@dataclass(frozen=True)
class DeviceChoice:
    """The device picked and a sentence saying why, for logs and the GUI status line."""

    device: torch.device  # noqa: F821 (torch is imported where a choice is made)
    reason: str

    def __str__(self) -> str:
        return f"{self.device} ({self.reason})"


def choose_device(preference: str | None = None) -> DeviceChoice:
    """Pick CUDA when present, else Apple's MPS, else CPU.

    `preference` ("auto", "cpu", "cuda", "mps") wins over the KEYPOINT_DEVICE environment variable, which wins over
    auto-detection. Asking for an accelerator that is absent is an error rather than a silent fall-back, so a batch run
    never believes it used a GPU it did not have.
    """
    import torch

    source = "requested"
    if preference is None:
        preference, source = os.environ.get(DEVICE_ENV, "auto"), f"{DEVICE_ENV}"
    preference = preference.strip().lower() or "auto"
    if preference not in DEVICE_CHOICES:
        raise InputError(f"Unknown device {preference!r}: use one of {', '.join(DEVICE_CHOICES)}.")

    cuda, mps = torch.cuda.is_available(), _mps_available()
    if preference == "cpu":
        return DeviceChoice(torch.device("cpu"), f"CPU {source}")
    if preference == "cuda":
        if not cuda:
            raise DeviceUnavailable(
                "CUDA was requested but torch sees no CUDA GPU. Install a CUDA build of torch matching your driver, "
                f"or choose CPU (set {DEVICE_ENV}=cpu or untick GPU in the module's Advanced section)."
            )
        return DeviceChoice(torch.device("cuda"), f"{torch.cuda.get_device_name(0)} {source}")
    if preference == "mps":
        if not mps:
            raise DeviceUnavailable(f"Apple MPS was requested but is not available; set {DEVICE_ENV}=cpu.")
        return DeviceChoice(torch.device("mps"), f"Apple MPS {source}")
    if cuda:
        return DeviceChoice(torch.device("cuda"), f"{torch.cuda.get_device_name(0)}, auto-detected")
    if mps:
        return DeviceChoice(torch.device("mps"), "Apple MPS, auto-detected")
    return DeviceChoice(torch.device("cpu"), "no GPU found")


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def configure_threads(num_threads: int | None = None) -> int:
    """Set torch's intra-op CPU threads (default: all cores this process may use) and return the number set.

    Inside Slicer the GUI thread shares the machine, so callers may pass fewer.
    """
    if num_threads is None:
        try:
            num_threads = len(os.sched_getaffinity(0))
        except AttributeError:  # macOS and Windows have no affinity call
            num_threads = os.cpu_count() or 1
    import torch

    num_threads = max(1, int(num_threads))
    torch.set_num_threads(num_threads)
    return num_threads
