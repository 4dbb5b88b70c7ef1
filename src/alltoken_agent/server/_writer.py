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
from concurrent.futures import Future
from typing import Any, Final, TypeVar

T = TypeVar("T")

FIRST_IN_A_ROW: Final = 8
"""First-lane jobs the thread runs in a row while a save waits, before that save."""

_Job = tuple[Future[Any], Callable[[], Any]]


class WriterThread:
    """One thread running jobs, the first lane before the ``later`` one (see the module)."""

    def __init__(self, name: str) -> None:
        self._first: deque[_Job] = deque()
        self._later: deque[_Job] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._stopping = False
        self._in_a_row = 0
        """First-lane jobs run since the last save, while a save waited."""
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], T], *, later: bool = False) -> Future[T]:
        """Queue ``job``; its future gets what it returns or raises.

        Raises:
            RuntimeError: The thread was shut down.
        """
        future: Future[T] = Future()
        with self._ready:
            if self._stopping:
                raise RuntimeError("the store's writer thread is shut down")
            (self._later if later else self._first).append((future, job))
            self._ready.notify()
        return future

    def shutdown(self) -> None:
        """Run every job queued so far, then stop the thread and wait for it."""
        with self._ready:
            self._stopping = True
            self._ready.notify()
        self._thread.join()

    def _take(self) -> _Job | None:
        """The next job (None: stopping, nothing left); called holding ``_ready``."""
        while not self._first and not self._later:
            if self._stopping:
                return None
            self._ready.wait()
        if self._later and (not self._first or self._in_a_row >= FIRST_IN_A_ROW):
            self._in_a_row = 0
            return self._later.popleft()
        if self._later:
            self._in_a_row += 1
        return self._first.popleft()

    def _work(self) -> None:
        while True:
            with self._ready:
                taken = self._take()
            if taken is None:
                return
            future, job = taken
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = job()
            except BaseException as error:
                future.set_exception(error)
                del error  # no cycle through the traceback's frames
            else:
                future.set_result(result)
