"""Feature extractors by name and device, each created once and kept: one pool per kind of features, shared by the
logic, the CLI and the benchmarks, so a model loads once per process and nothing calls back up into a module."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from KeypointEngineLib.device import DeviceChoice, choose_device
from KeypointEngineLib.errors import InputError

Factory = Callable[[DeviceChoice], Any]  # an extractor with `extract(...) -> Features` and `device: DeviceChoice`


class BackendPool:
    def __init__(self, factories: dict[str, Factory]):
        self._factories = dict(factories)
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
        choice = device if isinstance(device, DeviceChoice) else choose_device(device)
        key = (name, str(choice.device))
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = self._factories[name](choice)
            return self._loaded[key]
