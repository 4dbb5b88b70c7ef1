"""While a server runs, the garbage collector is tuned for many open streams; after, it is not.

Default thresholds made collections a fifth of the server's CPU under load, with full
passes that paused every stream (bench/server_load.py); the server raises them and
freezes what start-up loaded. Servers in threads of one process (as here) share the
tuning: the settings come back when the last one stops.
"""

from __future__ import annotations

import gc

from alltoken_agent.server.runner import GC_THRESHOLDS
from tests.server.conftest import MakeServer


def test_serving_tunes_the_collector_and_the_last_server_to_stop_restores_it(
    make_server: MakeServer,
) -> None:
    before = gc.get_threshold()
    assert before != GC_THRESHOLDS  # pytest's own settings, not ours
    first = make_server()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 0  # what start-up loaded is out of every pass
    second = make_server()
    first.stop()
    assert gc.get_threshold() == GC_THRESHOLDS  # the second one still serves
    with second.client() as client:
        assert client.get("/healthz").status_code == 200
    second.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
