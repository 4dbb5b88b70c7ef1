"""Ids the server makes per message: a run's id and its session-lease holder.

Neither is a secret: a run id names a run in this process's tables, task names, logs
and the tags of its ledger rows; a lease holder names who holds a session's lease
(``host/pid/...``, which ``media.holder_is_dead`` reads). Nothing is authorised by
knowing one. So they need to be unique, not unguessable, and drawing fresh random
bytes for each (a ``getrandom`` system call per id, twice per message) buys nothing:
each is a random prefix drawn once per process and a counter. The prefix makes them
unique across processes (replicas on other hosts, a restart that gets the same pid)
and is drawn again in a forked child, which would otherwise count on from its
parent's prefix.
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket

_PREFIX_BYTES = 6
"""48 random bits per process: a clash between two processes' prefixes is ~1 in 10^14."""


class _Source:
    __slots__ = ("counter", "host", "pid", "prefix")

    def __init__(self) -> None:
        self.prefix = secrets.token_hex(_PREFIX_BYTES)
        self.counter = itertools.count(1)
        self.pid = os.getpid()
        self.host = socket.gethostname()


_source = _Source()


def _reseed() -> None:
    global _source
    _source = _Source()


if hasattr(os, "register_at_fork"):  # POSIX: a forked worker gets its own prefix and pid
    os.register_at_fork(after_in_child=_reseed)


def new_run_id() -> str:
    """A run id, ``run_`` and hex: unique across processes and restarts."""
    source = _source
    return f"run_{source.prefix}{next(source.counter):x}"


def new_lease_holder() -> str:
    """A session-lease holder, ``host/pid/hex``, the form ``media.holder_is_dead`` reads."""
    source = _source
    return f"{source.host}/{source.pid}/{source.prefix}{next(source.counter):x}"
