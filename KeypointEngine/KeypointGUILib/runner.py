"""A module's Task run from its panel: the work on a worker thread (KeypointEngineLib.jobs.BackgroundRun), progress
and the end picked up on Qt's main thread by a timer, where `apply` creates the nodes. The panel supplies two
callbacks and decides what to show; this knows nothing of any module."""

import traceback

import qt

from KeypointEngineLib.jobs import BackgroundRun


class PanelRunner:
    """`start(task)`; then `onProgress(stage, fraction, cancelling)` every `intervalMs` and, once,
    `onFinished(result, error)` with the applied result or what ended the run (JobCancelled included)."""

    def __init__(self, onProgress, onFinished, intervalMs=100):
        self._onProgress, self._onFinished = onProgress, onFinished
        self._run = None
        self._timer = qt.QTimer()
        self._timer.setInterval(intervalMs)
        self._timer.connect("timeout()", self._poll)

    @property
    def running(self):
        return self._run is not None

    def start(self, task):
        """Prepare now (bad input raises here, before anything runs), then work in the background."""
        self._run = BackgroundRun(task)
        self._timer.start()

    def cancel(self):
        if self._run is not None:
            self._run.cancel()

    def stop(self):
        """For the panel's cleanup: cancel, and stop polling (nothing is applied afterwards)."""
        self.cancel()
        self._timer.stop()
        self._run = None

    def _poll(self):
        run = self._run
        if run is None:
            return
        stage, fraction = run.progress
        self._onProgress(stage, fraction, run.cancelled)
        if not run.poll():
            return
        self._timer.stop()
        self._run = None
        try:
            result, error = run.result(), None
        except Exception as failure:
            result, error = None, failure
        self._onFinished(result, error)


def dependenciesReady(requester):
    """None when the engine's packages are installed (asking once to install them); otherwise what to tell the user.
    A failed installation (no network, a proxy) leaves the panel usable."""
    from KeypointEngine import ensureDependencies

    try:
        if ensureDependencies(requester):
            return None
    except Exception as error:
        traceback.print_exc()
        return f"Installing {requester}'s Python packages failed: {error}. See the README's troubleshooting."
    return f"{requester} needs its Python packages (see the README's troubleshooting); press Apply to be asked again."
