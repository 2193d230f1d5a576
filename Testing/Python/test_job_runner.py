"""The shared job runner: prepare (main thread) -> work (worker thread) -> apply (main thread), with progress and a
cancel token honoured at every step, the last included; real MRML nodes are created by apply."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from KeypointEngineLib.jobs import BackgroundRun, CancelToken, Job, JobCancelled, Task, run_blocking
from KeypointMRMLLib.markups import fiducials_from_points
from KeypointMRMLLib.scene import remove_node

STEPS = [("Reading", 0.0), ("Detecting", 0.3), ("Matching", 0.6), ("Fitting", 1.0)]


def _task(scene, threads=None, fail_in=None):
    """A Task shaped like a module's: reads nothing heavy, 'works' through STEPS, adds two nodes when applied."""

    def prepare():
        if threads is not None:
            threads["prepare"] = threading.current_thread()
        return np.arange(6.0).reshape(2, 3)

    def work(points, job):
        if threads is not None:
            threads["work"] = threading.current_thread()
        for stage, fraction in STEPS:
            job.report(stage, fraction)
        if fail_in == "work":
            raise RuntimeError("the engine failed")
        return points * 2

    def apply(points):
        if threads is not None:
            threads["apply"] = threading.current_thread()
        first = fiducials_from_points(scene, points, "keypoints")
        if fail_in == "apply":
            remove_node(first)  # as a module's apply does: what it made goes again
            raise ValueError("could not make the second node")
        return first, fiducials_from_points(scene, points[:1], "matched")

    return Task(prepare, work, apply)


def test_blocking_run_gives_the_applied_result(scene):
    seen = []
    first, second = run_blocking(_task(scene), Job(progress=lambda stage, fraction: seen.append((stage, fraction))))
    assert seen == STEPS and first.GetNumberOfControlPoints() == 2 and second.GetNumberOfControlPoints() == 1


@pytest.mark.parametrize("step", range(len(STEPS)))
def test_a_cancel_at_any_step_leaves_the_node_count_unchanged(scene, step):
    token = CancelToken()

    def cancel_at(stage, fraction):
        if (stage, fraction) == STEPS[step]:
            token.cancel()

    before = scene.GetNumberOfNodes()
    with pytest.raises(JobCancelled):
        run_blocking(_task(scene), Job(progress=cancel_at, cancel_token=token))
    assert scene.GetNumberOfNodes() == before


def test_background_run_works_off_the_calling_thread_and_applies_on_it(scene):
    threads = {}
    run = BackgroundRun(_task(scene, threads))
    assert run.wait(30)
    assert run.poll() and run.progress == STEPS[-1]
    first, _ = run.result()
    main = threading.current_thread()
    assert threads["prepare"] is main and threads["apply"] is main and threads["work"] is not main
    assert first.GetScene() is scene and run.poll()  # polling again changes nothing


def test_background_run_cancelled_while_working_stops_at_the_next_step(scene):
    started, release = threading.Event(), threading.Event()

    def work(prepared, job):
        started.set()
        for step in range(1000):
            job.report("Tiles", step / 1000)
            release.wait(0.01)
        return prepared

    before = scene.GetNumberOfNodes()
    run = BackgroundRun(Task(lambda: None, work, lambda worked: fiducials_from_points(scene, [[0, 0, 0]], "x")))
    started.wait(30)
    run.cancel()
    assert run.wait(5) and run.poll()  # ten seconds of work stopped at once
    with pytest.raises(JobCancelled):
        run.result()
    assert run.progress[1] < 0.5 and scene.GetNumberOfNodes() == before


def test_background_run_cancelled_after_its_last_step_applies_nothing(scene):
    before = scene.GetNumberOfNodes()
    run = BackgroundRun(_task(scene))
    run.wait(30)
    run.cancel()  # the work has finished; the user pressed Cancel before the main thread picked it up
    assert run.poll()
    with pytest.raises(JobCancelled):
        run.result()
    assert scene.GetNumberOfNodes() == before


def test_background_run_passes_on_what_failed(scene):
    for fail_in, error in (("work", RuntimeError), ("apply", ValueError)):
        before = scene.GetNumberOfNodes()
        run = BackgroundRun(_task(scene, fail_in=fail_in))
        run.wait(30)
        assert run.poll()
        with pytest.raises(error):
            run.result()
        assert scene.GetNumberOfNodes() == before


def test_result_before_the_end_is_an_error(scene):
    release = threading.Event()
    task = Task(lambda: None, lambda prepared, job: release.wait(30), lambda worked: worked)
    run = BackgroundRun(task)
    assert not run.poll()
    with pytest.raises(RuntimeError, match="has not ended"):
        run.result()
    release.set()
    run.wait(30)
    assert run.poll() and run.result() is True


def test_scaled_job_maps_a_part_into_the_whole():
    seen = []
    token = CancelToken()
    part = Job(progress=lambda stage, fraction: seen.append(fraction), cancel_token=token).scaled(0.75, 1.0)
    part.report("Matching", 0.0)
    part.report("Fitting", 1.0)
    assert seen == [0.75, 1.0]
    token.cancel()
    with pytest.raises(JobCancelled):
        part.report("Refining", 0.5)
