"""The session quota counts in the database (``count_sessions``), not by loading sessions.

Listing up to the quota's worth of sessions (a thousand by default) to count them made
each creation cost more than the last; the count is one query that stops at the quota.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from alltoken_agent import UserError
from alltoken_agent.store import Store


def test_count_sessions_counts_one_owners_sessions_up_to_a_limit(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'count.db'}")
    try:
        sessions = store.sessions
        for _ in range(3):
            sessions.create_session(owner="key_alice")
        sessions.create_session(owner="key_bob")
        sessions.create_session()  # the local owner's
        assert sessions.count_sessions(owner="key_alice") == 3
        assert sessions.count_sessions(owner="key_alice", up_to=2) == 2
        assert sessions.count_sessions(owner="key_bob") == 1
        assert sessions.count_sessions() == 1  # None is the local owner, not "anyone"
        assert sessions.count_sessions(owner="key_nobody") == 0
        with pytest.raises(UserError, match="limit"):
            sessions.count_sessions(owner="key_alice", up_to=0)
    finally:
        store.close()
