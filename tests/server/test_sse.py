"""The event stream on the wire: keep-alive comments while the model is quiet."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import MakeServer, create_session
from tests.server.test_messages import SSE

pytestmark = pytest.mark.slow


def test_a_quiet_stream_gets_keep_alive_comments_then_its_events(
    make_server: MakeServer, sim: Any
) -> None:
    server = make_server(keepalive_interval=0.1)
    with server.client() as client:
        session_id = create_session(client)
        sim.state.enqueue_faults(["slow:0.6"])  # no first byte from the model for 0.6 s
        with client.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "hello"},
            headers=SSE,
        ) as response:
            assert response.status_code == 200
            lines = list(response.iter_lines())
    busy_data = lines.index("event: thinking:start") + 1
    names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    quiet = lines[busy_data + 1 : lines.index("event: stream:start")]
    # message:user and thinking:start go out at once; then, while the model is silent,
    # keep-alives.
    assert names[:2] == ["message:user", "thinking:start"] and names[-1] == "done"
    assert quiet.count(": keep-alive") >= 3
    assert all(line in ("", ": keep-alive") for line in quiet)
