"""Feature extractors by name and device, each created once and kept: one pool per kind of features, shared by the
logic, the CLI and the benchmarks, so a model loads once per process and nothing calls back up into a module."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from KeypointEngineLib.device import DEVICE_ENV, DeviceChoice, choose_device
from KeypointEngineLib.errors import InputError

# an extractor with `extract(...) -> Features` and `device` (a DeviceChoice, or a description for a cpu_only one),
# from the DeviceChoice (None for a cpu_only backend created without one)
Factory = Callable[[DeviceChoice | None], Any]


class BackendPool:
    def __init__(self, factories: dict[str, Factory], cpu_only: tuple[str, ...] = ()):
        """`cpu_only`: backends that run no torch (OpenCV's SIFT): created without choosing a device when none was
        asked for, so a pair they settle never imports torch (a cold CLI call's largest import)."""
        self._factories = dict(factories)
        self._cpu_only = set(cpu_only)
        self._loaded: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()  # the GUI's worker thread and the console may ask at once

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._factories)

    def get(self, name: str, device: str | DeviceChoice | None = None):
        """The extractor `name` on `device` ("auto", "cpu", "cuda", "mps"; None: $KEYPOINT_DEVICE or auto), created
        on first use. Asking for an absent accelerator is an error, whichever backend asks."""
        if name not in self._factories:
            raise InputError(f"Unknown keypoint backend {name!r}: use one of {', '.join(self._factories)}.")
        if name in self._cpu_only and device is None and not os.environ.get(DEVICE_ENV):
            choice, key = None, (name, "cpu")  # nothing asked for that could be absent
        else:
            choice = device if isinstance(device, DeviceChoice) else choose_device(device)
            key = (name, str(choice.device))
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = self._factories[name](choice)
            return self._loaded[key]
