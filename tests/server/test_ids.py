"""Run ids and session-lease holders (server/_ids.py): unique without a random draw each."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from alltoken_agent.media import holder_is_dead
from alltoken_agent.server._ids import new_lease_holder, new_run_id


def test_ids_are_unique_within_a_process() -> None:
    runs = {new_run_id() for _ in range(10_000)}
    holders = {new_lease_holder() for _ in range(10_000)}
    assert len(runs) == 10_000 and len(holders) == 10_000
    assert all(run.startswith("run_") for run in runs)


def test_a_holder_names_this_live_process() -> None:
    host, pid, rest = new_lease_holder().split("/")
    assert host == socket.gethostname() and pid == str(os.getpid())
    assert rest and all(c in "0123456789abcdef" for c in rest)
    assert not holder_is_dead(new_lease_holder())


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="POSIX fork")
def test_a_forked_child_draws_its_own_prefix() -> None:
    """A forked worker counting on from its parent's prefix would repeat the parent's ids."""
    parent_run = new_run_id()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its ids and leave at once, running nothing of pytest's
        try:
            os.write(write_end, f"{new_run_id()} {new_lease_holder()}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child_run, child_holder = pipe.read().decode().split()
    os.waitpid(pid, 0)
    parent_next = new_run_id()
    assert child_run[:16] != parent_run[:16]  # "run_" and a different 12-hex prefix
    assert child_run not in (parent_run, parent_next)
    assert child_holder.split("/")[1] == str(pid)
