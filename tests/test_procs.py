"""augkit._procs: the forked worker processes of ``augkit augment`` (Linux only)."""
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from augkit import _procs
from conftest import wait_until_exited

pytestmark = pytest.mark.skipif(not _procs.available(), reason="forked workers are used on Linux only")


def _square(job):
    name, value = job
    return [(name, value * value)], None


def _run(jobs, work, workers, stop=None):
    got = {}

    def collect(key, result):
        assert key not in got, f"{key} collected twice"
        got[key] = result

    with _procs.Pool(jobs, work, workers) as pool:
        pool.drive(stop or threading.Event(), collect)
    return got


@pytest.mark.parametrize("workers", [1, 2, 5])
def test_every_job_runs_once_with_the_serial_result(workers):
    jobs = [(f"job{i}", i) for i in range(37)]
    assert _run(jobs, _square, workers) == {name: _square((name, v)) for name, v in jobs}


def test_a_child_that_dies_costs_its_job_only():
    def work(job):
        if job[1] == 5:
            os._exit(3)   # a crash: no result, the child is gone
        return _square(job)
    jobs = [(f"job{i}", i) for i in range(20)]
    got = _run(jobs, work, 2)
    assert set(got) == {name for name, _ in jobs}
    assert got["job5"] == ([], "worker process died while processing this image")
    assert all(got[name] == _square((name, v)) for name, v in jobs if v != 5)


def test_when_every_child_dies_the_jobs_left_are_reported():
    def work(job):
        os._exit(3)
    jobs = [(f"job{i}", i) for i in range(6)]
    got = _run(jobs, work, 2)
    assert set(got) == {name for name, _ in jobs}
    assert all(result[0] == [] and "died" in result[1] for result in got.values())


def test_stop_hands_out_nothing_more_and_collects_what_is_in_hand():
    stop = threading.Event()
    got = {}

    def collect(key, result):
        got[key] = result
        if len(got) == 3:
            stop.set()
    jobs = [(f"job{i}", i) for i in range(50)]
    with _procs.Pool(jobs, _square, 2) as pool:
        pool.drive(stop, collect)
    assert 3 <= len(got) <= 3 + 4          # at most two more in flight per child
    assert all(got[k] == _square((k, int(k[3:]))) for k in got)


def test_children_exit_when_the_parent_is_killed(tmp_path):
    """SIGKILL gives the parent no chance to clean up: the children must notice and leave."""
    code = textwrap.dedent("""
        import os, sys, threading, time
        from augkit import _procs
        def work(job):
            time.sleep(0.05)
            return [(job[0], 0)], None
        pool = _procs.Pool([(f"j{i}", i) for i in range(400)], work, 2)
        print(*[pid for pid, _, _ in pool.children], flush=True)
        pool.drive(threading.Event(), lambda key, result: None)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2
    time.sleep(0.3)
    parent.kill()
    parent.wait(timeout=10)

    assert wait_until_exited(pids, timeout=10)
