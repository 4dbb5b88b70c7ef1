"""The store's one writer thread, with a second lane for saves that nobody waits on to start.

Every write of a server goes to one thread (``storage.py`` says why). A message waits
for one of them before its first token: ``open_turn`` (its session's lease and history).
A turn's save waits for nobody's first token: only its own stream's ``done``. With one
queue in arrival order, the opens waited behind the saves of the turns that had just
ended: at 500 steady streams (``bench/server_load.py``) an open that ran in 0.3 ms had
waited 60 ms at the median and 380 ms at p90 for its turn on the thread, most of the
server's added time to first token, while the thread ran saves.

So the thread takes the first lane first and the saves (``later``) when it is empty, or
after :data:`FIRST_IN_A_ROW` jobs of the first lane while a save waits: a save is never
held up for long. Order within a lane is arrival order, and nothing written in the first
lane needs a save queued before it: a session's next turn is opened only after its last
save has returned (the stream's ``done`` is sent after it), and a session's lease renewal
names only the leases still held, whose saves have not been sent.

Jobs submitted with ``group=True`` (turn opens, turn saves) run together, up to
:data:`GROUP_MAX`, in one transaction of the store (``Store.joined_writes``). When a
hundred messages arrive at once, a transaction per job (its ``BEGIN``, its commit
writing the same pages again, the pool's check-out) was a third of the thread's CPU per
turn (``bench/server_load.py``'s burst). A group of opens is the opens waiting next to
each other when the thread takes them; a group of saves takes in the saves that arrive
as it runs, until an open waits: taking every queued save held the next open behind all
of them (the steady N=500 phase then added 268-354 ms at p99 to the first token,
against 118-122 ms with this rule).

What each caller gets does not change: results are handed out after the commit, and
when a job raises (or the transaction's ``BEGIN`` or commit fails) the group is rolled
back and every job of it runs again on its own, so a failure (a spool, a retry, its
error) is what it would have been without the group. A savepoint per job would undo
only the failing one, but its two statements each let the GIL go, which beside a busy
event loop cost an open up to a switch interval apiece (the steady N=500 phase's added
time to first token at p99: 267-334 ms with them, 202-206 ms without).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, Final, TypeVar

T = TypeVar("T")

FIRST_IN_A_ROW: Final = 8
"""First-lane jobs the thread runs in a row while a save waits, before that save."""

GROUP_MAX: Final = 16
"""Jobs at most in one group's transaction: the first of them gets its answer after the
last has run (an open at ~0.2 ms, a save at ~0.4 ms on SQLite)."""

_Job = tuple[Future[Any], Callable[[], Any], bool]
"""A queued job: its future, the call, and whether it may run in a group."""


class WriterThread:
    """One thread running jobs, the first lane before the ``later`` one (see the module).

    The thread is a one-worker ``ThreadPoolExecutor``'s, so it ends as the executor's do
    (queued jobs still run when the interpreter exits). Each job queued puts one token
    in the executor; a token runs whichever jobs are next by the lanes' rule (none when
    a group ran them already).

    Args:
        name: The thread's name.
        joined: The store's ``joined_writes``: what runs a group's jobs in one
            transaction (None: every job alone).
    """

    def __init__(
        self, name: str, joined: Callable[[], AbstractContextManager[bool]] | None = None
    ) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._joined = joined
        self._first: deque[_Job] = deque()
        self._later: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._stopped = False
        self._in_a_row = 0
        """First-lane jobs run since the last save, while a save waited."""

    def submit(
        self, job: Callable[[], T], *, later: bool = False, group: bool = False
    ) -> Future[T]:
        """Queue ``job``; its future gets what it returns or raises.

        ``group``: the job only writes through the store, so it may share a transaction
        with the jobs queued beside it (see the module).

        Raises:
            RuntimeError: The thread was shut down.
        """
        future: Future[T] = Future()
        with self._lock:
            if self._stopped:
                raise RuntimeError("the store's writer thread is shut down")
            (self._later if later else self._first).append((future, job, group))
            self._executor.submit(self._run_next)
        return future

    def shutdown(self) -> None:
        """Run every job queued so far, then stop the thread and wait for it."""
        with self._lock:
            self._stopped = True
        self._executor.shutdown(wait=True)

    def _next(self) -> tuple[list[_Job], bool]:
        """The jobs to run now (none: a group took them), and whether their group may grow.

        Called holding ``_lock``. A group of the first lane is what waits at this moment;
        a group of saves takes more saves as it goes, while no first-lane job waits.
        """
        if not self._first and not self._later:
            return [], False
        if self._later and (not self._first or self._in_a_row >= FIRST_IN_A_ROW):
            self._in_a_row = 0
            job = self._later.popleft()
            grow = self._joined is not None and job[2] and self._pullable()
            return [job], grow
        # While a save waits, a group of the first lane counts against its row.
        room = FIRST_IN_A_ROW - self._in_a_row if self._later else GROUP_MAX
        jobs = [self._first.popleft()]
        if self._joined is not None and jobs[0][2]:
            while self._first and len(jobs) < room and self._first[0][2]:
                jobs.append(self._first.popleft())
        if self._later:
            self._in_a_row += len(jobs)
        return jobs, False

    def _pullable(self) -> bool:
        """Whether a save may join the running group; called holding ``_lock``.

        Not while a first-lane job waits: a turn's open (a first token) would wait
        behind every save of the group.
        """
        return bool(self._later) and not self._first and self._later[0][2]

    def _pull(self, jobs: list[_Job]) -> bool:
        """Take the next save into the group ``jobs`` if it may join; whether one did."""
        while len(jobs) < GROUP_MAX:
            with self._lock:
                if not self._pullable():
                    return False
                job = self._later.popleft()
            if job[0].set_running_or_notify_cancel():
                jobs.append(job)
                return True
        return False

    def _run_next(self) -> None:
        with self._lock:
            jobs, grow = self._next()
        jobs = [job for job in jobs if job[0].set_running_or_notify_cancel()]
        if len(jobs) > 1 or (jobs and grow):
            jobs = self._run_group(jobs, grow)
        for future, job, _ in jobs:
            _run(future, job)

    def _run_group(self, jobs: list[_Job], grow: bool) -> list[_Job]:
        """Run ``jobs`` (and, if ``grow``, saves that join) in one transaction.

        Returns the jobs left to run alone after it: none, or all of them when any
        raised (the transaction is rolled back, so none of it was written).
        """
        assert self._joined is not None
        done: list[tuple[Future[Any], Any]] = []
        try:
            with self._joined() as joined:
                if not joined:  # the store cannot join writes now: each job alone
                    return jobs
                index = 0
                while index < len(jobs) or (grow and self._pull(jobs)):
                    queued = jobs[index]
                    index += 1
                    done.append((queued[0], queued[1]()))
        except BaseException:
            # A job raised, or the transaction's BEGIN or commit failed, or it was
            # interrupted: nothing of it was written. Every job again, on its own.
            return jobs
        for future, result in done:
            future.set_result(result)
        return []


def _run(future: Future[Any], job: Callable[[], Any]) -> None:
    """Run ``job`` alone, its outcome to ``future`` (already marked running)."""
    try:
        result = job()
    except BaseException as error:
        future.set_exception(error)
        del error  # no cycle through the traceback's frames
    else:
        future.set_result(result)
