"""One job API for long work: a progress callback (stage, fraction) and a cancel token checked between pieces.

The GUI maps its Cancel button to the token and its progress bar to the callback; console and batch callers pass
nothing and simply get the result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

ProgressCallback = Callable[[str, float], None]
T = TypeVar("T")


class JobCancelled(Exception):
    """Raised inside a job when its cancel token is set; callers restore their state and stop."""


class CancelToken:
    """Thread-safe flag: the GUI (or another thread) sets it, the job checks it between tiles or batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class Job:
    """Progress reporting and cancellation for one long-running call."""

    progress: ProgressCallback | None = None
    cancel_token: CancelToken = field(default_factory=CancelToken)

    def check(self) -> None:
        """Raise JobCancelled if the user asked to stop."""
        if self.cancel_token.cancelled:
            raise JobCancelled("Cancelled by the user.")

    def report(self, stage: str, fraction: float) -> None:
        """Check for cancellation, then tell the caller we are `fraction` (0..1) through `stage`."""
        self.check()
        if self.progress is not None:
            self.progress(stage, min(max(float(fraction), 0.0), 1.0))

    def steps(self, stage: str, items: Iterable[T], total: int) -> Iterator[T]:
        """Yield `items`, reporting progress and checking for cancellation before each one and at the end."""
        for index, item in enumerate(items):
            self.report(stage, index / max(total, 1))
            yield item
        self.report(stage, 1.0)


def as_job(job: Job | None) -> Job:
    """Let every engine function take `job=None` for 'no progress, no cancel'."""
    return job if job is not None else Job()
