"""A server turn on a long session reads only its newest whole turns that can fit.

On SQLite (its batches read on the driver's cursor) and on PostgreSQL. Past
``LONG_SESSION`` stored messages ``open_turn`` reads newest first and stops at the
budget its ``HistoryFit`` gives the session's model; a shorter session, or one whose
model's budget is unknown, is read whole, as before.
"""

from __future__ import annotations

import pytest

from alltoken_agent.store import Store
from alltoken_agent.store.history import LONG_SESSION, HistoryFit
from tests.store.test_history import assert_newest_whole_turns, size, turn

pytestmark = pytest.mark.slow

HOLDER = "host/1/a"
TURNS = 600
"""1,600 messages (every third turn calls a tool) of 5,400 tokens by ``size``."""


def _seeded(store: Store) -> tuple[str, list[dict[str, object]]]:
    sessions = store.sessions
    created = sessions.create_session(owner="key_a", model="m")
    sessions.append_messages(
        created.id, [m for i in range(TURNS) for m in turn(i, tool=i % 3 == 0)]
    )
    everything = sessions.load_messages(created.id)
    assert len(everything) > LONG_SESSION
    return created.id, everything


# 500: within the newest thousand; 4,500: reads on past them; 20,000: everything fits.
@pytest.mark.parametrize("budget", [500, 4_500, 20_000])
def test_a_long_session_opens_with_its_newest_whole_turns_that_fit(
    any_store: Store, budget: int
) -> None:
    session_id, everything = _seeded(any_store)
    asked: list[str | None] = []

    def window(model: str | None) -> int:
        asked.append(model)
        return budget

    start = any_store.sessions.open_turn(
        session_id, owner="key_a", holder=HOLDER, seconds=30, fit=HistoryFit(window, size)
    )
    assert asked == ["m"]  # the session's own model
    assert start.session is not None and start.session.message_count == len(everything)
    recent = start.messages
    assert_newest_whole_turns(recent, everything, budget)
    if budget >= sum(size(m) for m in everything):
        assert recent == everything
    else:
        assert len(recent) < len(everything)


def test_without_a_fit_or_a_known_window_a_long_session_is_read_whole(any_store: Store) -> None:
    session_id, everything = _seeded(any_store)
    sessions = any_store.sessions
    whole = sessions.open_turn(session_id, owner="key_a", holder=HOLDER, seconds=30)
    assert whole.messages == everything
    unknown = HistoryFit(lambda model: None, size)
    again = sessions.open_turn(session_id, owner="key_a", holder=HOLDER, seconds=30, fit=unknown)
    assert again.messages == everything
