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
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final, TypeVar

T = TypeVar("T")

FIRST_IN_A_ROW: Final = 8
"""First-lane jobs the thread runs in a row while a save waits, before that save."""

_Job = tuple[Future[Any], Callable[[], Any]]


class WriterThread:
    """One thread running jobs, the first lane before the ``later`` one (see the module).

    The thread is a one-worker ``ThreadPoolExecutor``'s, so it ends as the executor's do
    (queued jobs still run when the interpreter exits). Each job queued puts one token
    in the executor; a token runs whichever job is next by the lanes' rule.
    """

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._first: deque[_Job] = deque()
        self._later: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._stopped = False
        self._in_a_row = 0
        """First-lane jobs run since the last save, while a save waited."""

    def submit(self, job: Callable[[], T], *, later: bool = False) -> Future[T]:
        """Queue ``job``; its future gets what it returns or raises.

        Raises:
            RuntimeError: The thread was shut down.
        """
        future: Future[T] = Future()
        with self._lock:
            if self._stopped:
                raise RuntimeError("the store's writer thread is shut down")
            (self._later if later else self._first).append((future, job))
            self._executor.submit(self._run_next)
        return future

    def shutdown(self) -> None:
        """Run every job queued so far, then stop the thread and wait for it."""
        with self._lock:
            self._stopped = True
        self._executor.shutdown(wait=True)

    def _next(self) -> _Job:
        """The job to run now; called holding ``_lock``, with at least one queued."""
        if self._later and (not self._first or self._in_a_row >= FIRST_IN_A_ROW):
            self._in_a_row = 0
            return self._later.popleft()
        if self._later:
            self._in_a_row += 1
        return self._first.popleft()

    def _run_next(self) -> None:
        with self._lock:
            future, job = self._next()
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = job()
        except BaseException as error:
            future.set_exception(error)
            del error  # no cycle through the traceback's frames
        else:
            future.set_result(result)
