"""``/healthz`` of a server that hands its media jobs to workers: how long jobs wait.

The server cannot see its workers; the age of the oldest job none has taken is what it
can say truly. A server that runs its own jobs answers as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from alltoken_agent.store.schema import media_jobs
from tests.server.conftest import MakeServer
from tests.server.test_media import submit

ROOMY = {"rate_limit_per_minute": 6000, "rate_limit_burst": 1000}


def test_healthz_says_how_long_the_oldest_queued_job_has_waited(
    make_server: MakeServer, sim: Any, tmp_path: Path
) -> None:
    server = make_server(media_jobs="workers", media_dir=tmp_path / "media", **ROOMY)
    with server.client(None) as probe, server.client() as client:
        empty = probe.get("/healthz")
        job = submit(client, "images", prompt="a fox", size="1024x1024")
        hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
        with server.store._db.write() as conn:  # journaled an hour ago, never taken
            conn.execute(
                sa.update(media_jobs)
                .where(media_jobs.c.id == job["id"])
                .values(created_at=hour_ago)
            )
        waiting = probe.get("/healthz")
        assert client.post(f"/v1/jobs/{job['id']}/cancel").status_code == 200
        after = probe.get("/healthz")
    assert empty.status_code == 200
    assert empty.json() == {"status": "ok", "queue": {"oldest_waiting_seconds": None}}
    assert waiting.status_code == 200 and waiting.json()["status"] == "ok"
    assert waiting.json()["queue"]["oldest_waiting_seconds"] >= 3600
    assert after.json()["queue"] == {"oldest_waiting_seconds": None}  # cancelled: not waiting
    assert sim.state.media.submits == {}


def test_healthz_of_a_server_running_its_own_jobs_is_unchanged(make_server: MakeServer) -> None:
    server = make_server()
    with server.client(None) as probe:
        assert probe.get("/healthz").json() == {"status": "ok"}
