"""Forked worker processes for ``augkit augment`` (Linux).

Threads share one GIL: each image's Python (Pillow's parsing, the pipeline's
bookkeeping, the manifest line) runs one thread at a time, so with threads
``augment`` reached only 0.70-0.84 of a plain Pillow read + write loop on 2
workers, and stopped growing at about 950 images/s on 16 cores. Processes share
nothing. :class:`Pool` forks its children at once, before the caller starts
any thread (a progress bar's monitor, say), and they inherit the jobs, the work
function and the compiled kernels (nothing is pickled on the way in). Each
child reads the next job's index from a pipe, runs it and writes the pickled
result back through another; :meth:`Pool.drive` hands each result to
``collect`` in completion order, as the thread pool does, two jobs in flight
per child.

Safety:

- children ignore SIGINT and SIGTERM (Ctrl-C reaches the whole process group):
  the parent catches them, stops handing out jobs and collects the images in
  hand, so a stopped run ends as a threaded one does;
- every child closes the pipe ends that are not its own, so when the parent
  dies, even by SIGKILL, its children see their job pipe close (or get EPIPE
  on their next result) and exit instead of lingering;
- a child that dies (killed, out of memory) costs the job it was running,
  which is reported as failed; the job queued behind it goes to another child
  and the run goes on (if every child dies, the jobs left are reported as
  failed too);
- children leave with ``os._exit``: no atexit handlers, no second flush of
  buffers copied from the parent.

Only on Linux: macOS's system libraries are not safe to use after ``fork``
(CPython itself stopped forking there by default), and Windows has no
``fork``; :func:`available` says whether to use it.
"""
from __future__ import annotations

import collections
import os
import pickle
import select
import signal
import struct
import sys

_HEADER = struct.Struct("<I")   # length of a pickled result
_JOB = struct.Struct("<q")      # a job's index


def available():
    """True where :class:`Pool` may be used (Linux, with ``fork``)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def _read_exact(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _child_loop(jobs, work, job_r, res_w):
    """In a child: read a job index, run it, write ``(index, result)``; return at end of the job pipe."""
    while True:
        raw = _read_exact(job_r, _JOB.size)
        if raw is None:
            return
        index = _JOB.unpack(raw)[0]
        try:
            result = work(jobs[index])
        except Exception as exc:  # work() reports per-file errors itself; this would be a bug
            result = ([], f"{type(exc).__name__}: {exc}")
        payload = pickle.dumps((index, result), protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(res_w, _HEADER.pack(len(payload)) + payload)


class Pool:
    """``workers`` forked children running ``work(job)`` for the jobs they are sent.

    Use as a context manager; :meth:`drive` runs the jobs. Leaving the block
    closes the pipes (children exit when theirs closes) and reaps them.
    """

    def __init__(self, jobs, work, workers):
        self.jobs = jobs
        self.children = []   # (pid, job write end, result read end)
        try:
            for _ in range(max(1, min(workers, len(jobs)))):
                self._fork(work)
        except BaseException:
            self.close()
            raise

    def _fork(self, work):
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, whose coverage is not collected
            code = 0
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                os.close(job_w)
                os.close(res_r)
                for _, other_w, other_r in self.children:   # earlier children's pipes
                    os.close(other_w)
                    os.close(other_r)
                _child_loop(self.jobs, work, job_r, res_w)
            except BrokenPipeError:
                code = 1   # the parent is gone
            except BaseException:
                code = 2
            finally:
                os._exit(code)
        os.close(job_r)
        os.close(res_w)
        self.children.append((pid, job_w, res_r))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the pipes (each child then exits after its current job) and reap the children."""
        children, self.children = self.children, []
        for _, job_w, res_r in children:
            for fd in (job_w, res_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
        for pid, _, _ in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    def drive(self, stop, collect, key=lambda job: job[0]):
        """Run every job; ``collect(key(job), result)`` as results arrive. Once ``stop`` (an Event)
        is set, nothing more is handed out and the jobs in flight are collected.

        A job whose child died is collected as ``([], "worker process died ...")``.
        """
        jobs = self.jobs
        todo = collections.deque(range(len(jobs)))
        job_fd = {res_r: job_w for _, job_w, res_r in self.children}
        in_flight = {res_r: [] for res_r in job_fd}   # oldest first: the one the child is running
        dead = set()

        def fill():
            """Top every live child up to two jobs in flight."""
            for res_r, job_w in job_fd.items():
                while res_r not in dead and len(in_flight[res_r]) < 2 and todo and not stop.is_set():
                    index = todo.popleft()
                    try:
                        os.write(job_w, _JOB.pack(index))
                    except BrokenPipeError:   # the child died
                        todo.appendleft(index)
                        dead.add(res_r)
                        break
                    in_flight[res_r].append(index)

        fill()
        while True:
            waiting = [fd for fd in job_fd if in_flight[fd]]
            if not waiting:
                break
            ready, _, _ = select.select(waiting, [], [])
            for res_r in ready:
                raw = _read_exact(res_r, _HEADER.size)
                payload = None if raw is None else _read_exact(res_r, _HEADER.unpack(raw)[0])
                if payload is None:
                    # The child is gone. The job it was running is lost; the ones queued behind
                    # it go to the others.
                    dead.add(res_r)
                    lost, queued = in_flight[res_r][0], in_flight[res_r][1:]
                    in_flight[res_r] = []
                    todo.extendleft(reversed(queued))
                    collect(key(jobs[lost]), ([], "worker process died while processing this image"))
                else:
                    index, result = pickle.loads(payload)
                    in_flight[res_r].remove(index)
                    collect(key(jobs[index]), result)
            fill()
        if not stop.is_set():
            for index in todo:   # left only when every child died
                collect(key(jobs[index]), ([], "not processed: every worker process died"))
