"""One job API for long work, and one way to run it: off Qt's main thread in the GUI, blocking in the console.

A job is a progress callback (stage, fraction) and a cancel token checked between pieces. A module action is a Task
in three parts: `prepare` reads nodes into arrays (main thread), `work` runs the engine (any thread: torch and OpenCV
release the GIL), `apply` creates nodes (main thread). The cancel token is checked between the parts too, so a
cancel at any step, the last one included, leaves the scene as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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

    def scaled(self, start: float, end: float) -> Job:
        """The same job for one part of the work: its fractions 0..1 are reported as start..end."""
        if self.progress is None:
            return Job(cancel_token=self.cancel_token)
        progress = self.progress
        return Job(lambda stage, fraction: progress(stage, start + (end - start) * fraction), self.cancel_token)


def as_job(job: Job | None) -> Job:
    """Let every engine function take `job=None` for 'no progress, no cancel'."""
    return job if job is not None else Job()


P = TypeVar("P")
R = TypeVar("R")


@dataclass
class Task(Generic[P, R, T]):
    """A module action: prepare (main thread: read nodes, check input) -> work (any thread: no MRML) -> apply (main
    thread: create nodes; remove what it made if it fails)."""

    prepare: Callable[[], P]
    work: Callable[[P, Job], R]
    apply: Callable[[R], T]


def run_blocking(task: Task[Any, Any, T], job: Job | None = None) -> T:
    """Run all three parts here and now (console, batch scripts, tests); JobCancelled when cancelled."""
    job = as_job(job)
    prepared = task.prepare()
    job.check()
    result = task.work(prepared, job)
    job.check()  # a cancel during the last step still wins: nothing is applied
    return task.apply(result)


class BackgroundRun(Generic[T]):
    """A Task whose work runs on a worker thread while the GUI stays responsive.

    The constructor runs `prepare` on the calling (main) thread and starts the work. The GUI calls `poll()` from a
    timer on the main thread: it returns True once the run has ended, after `apply` ran there (unless cancelled or
    failed); `result()` then returns the applied result or raises what ended the run (JobCancelled included).
    `progress` is the last (stage, fraction) the work reported; `cancel()` asks the work to stop.
    """

    def __init__(self, task: Task[Any, Any, T]):
        self._task = task
        self._lock = threading.Lock()
        self._progress: tuple[str, float] = ("Starting", 0.0)
        self._job = Job(progress=self._store_progress)
        self._outcome: tuple[str, Any] | None = None  # ("result", value) or ("error", exception)
        prepared = task.prepare()
        self._thread = threading.Thread(target=self._work, args=(prepared,), name="KeypointJob", daemon=True)
        self._thread.start()

    def _store_progress(self, stage: str, fraction: float) -> None:
        with self._lock:
            self._progress = (stage, fraction)

    def _work(self, prepared) -> None:
        try:
            self._worked = ("result", self._task.work(prepared, self._job))
        except BaseException as error:  # handed to the main thread by poll()
            self._worked = ("error", error)

    @property
    def progress(self) -> tuple[str, float]:
        with self._lock:
            return self._progress

    @property
    def cancelled(self) -> bool:
        return self._job.cancel_token.cancelled

    def cancel(self) -> None:
        self._job.cancel_token.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the work has finished (not applied); True unless the timeout passed first."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def poll(self) -> bool:
        """On the main thread: False while the work runs; once it has ended, apply it (unless cancelled) and True."""
        if self._outcome is not None:
            return True
        if self._thread.is_alive():
            return False
        kind, value = self._worked
        if kind == "result":
            try:
                self._job.check()
                self._outcome = ("result", self._task.apply(value))
            except BaseException as error:
                self._outcome = ("error", error)
        else:
            self._outcome = (kind, value)
        return True

    def result(self) -> T:
        """The applied result; raises what ended the run. Call after poll() returned True."""
        if self._outcome is None:
            raise RuntimeError("The run has not ended: call poll() until it returns True.")
        kind, value = self._outcome
        if kind == "error":
            raise value
        return value
