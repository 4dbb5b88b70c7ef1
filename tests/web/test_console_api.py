"""The API routes the console needed, over HTTP: each documented, owner-scoped, honest.

`PATCH /v1/sessions/{id}`, `GET /v1/models`, `GET /v1/spend`, `GET /v1/sessions/{id}/cost`,
`GET /v1/media/costs`, `POST /v1/jobs/{id}/resume`, and the console's own pages.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from alltoken_agent.server.console import STATIC
from tests.server.conftest import GATEWAY_KEY, KEY_A, KEY_B, ServerThread, create_session
from tests.server.test_media import fast, submit, wait_for

TOKYO = "What time is it in Tokyo?"


def _chat(client: httpx.Client, content: str = TOKYO, **session: Any) -> str:
    session_id = create_session(client, **session)
    response = client.post(f"/v1/sessions/{session_id}/messages", json={"content": content})
    assert response.status_code == 200, response.text
    return session_id


def _job_costs(client: httpx.Client) -> list[dict[str, Any]]:
    """The job costs once the ledger row is in (written by the server's writer thread)."""
    for _ in range(200):
        jobs: list[dict[str, Any]] = client.get("/v1/media/costs").json()["jobs"]
        if jobs:
            return jobs
        time.sleep(0.05)
    return []


@pytest.mark.slow
def test_a_session_is_renamed_and_its_model_switched(keyed_server: ServerThread) -> None:
    with keyed_server.client(KEY_A) as client:
        first, second = create_session(client), create_session(client)
        renamed = client.patch(f"/v1/sessions/{first}", json={"name": " deploys "})
        assert renamed.status_code == 200
        assert renamed.json()["name"] == "deploys"
        assert client.get(f"/v1/sessions/{first}").json()["name"] == "deploys"
        taken = client.patch(f"/v1/sessions/{second}", json={"name": "deploys"})
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "session_name_taken"

        switched = client.patch(f"/v1/sessions/{first}", json={"model": "deepseek-v4-flash"})
        assert switched.json()["model"] == "deepseek-v4-flash"
        reply = client.post(f"/v1/sessions/{first}/messages", json={"content": "hi"}).json()
        assert reply["model"] == "deepseek-v4-flash"
        unknown = client.patch(f"/v1/sessions/{first}", json={"model": "no-such-model"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "model_not_found"
        assert client.patch(f"/v1/sessions/{first}", json={}).json()["name"] == "deploys"
        blank = client.patch(f"/v1/sessions/{first}", json={"name": "  "})
        assert blank.status_code == 422
    with keyed_server.client(KEY_B) as client:
        other = client.patch(f"/v1/sessions/{first}", json={"name": "mine now"})
        assert other.status_code == 404
        assert client.get("/v1/sessions").json() == {"sessions": []}


@pytest.mark.slow
def test_models_carry_catalog_prices_per_million_tokens(keyed_server: ServerThread) -> None:
    with keyed_server.client(None) as anonymous:
        assert anonymous.get("/v1/models").status_code == 401
    with keyed_server.client(KEY_A) as client:
        listed = client.get("/v1/models").json()
    assert listed["default_model"] and listed["simulated"] is False  # the sim plays a real one
    ours = {model["id"]: model for model in listed["models"]}
    # The simulator's catalog prices it at 0.0003 and 0.0012 USD per 1K tokens.
    assert ours["minimax-m2.7"]["price"]["input_per_1m"] == "0.3"
    assert ours["minimax-m2.7"]["price"]["output_per_1m"] == "1.2"
    with keyed_server.client(KEY_A) as client:
        images = client.get("/v1/models", params={"modality": "image"}).json()["models"]
    assert images and {model["modality"] for model in images} == {"image"}


@pytest.mark.slow
def test_spend_reports_days_by_model_in_its_book_and_only_the_callers(
    keyed_server: ServerThread,
) -> None:
    with keyed_server.client(KEY_A) as client:
        session_id = _chat(client)
        client.patch(f"/v1/sessions/{session_id}", json={"name": "tokyo"})
        report = client.get("/v1/spend", params={"days": 7}).json()
        cost = client.get(f"/v1/sessions/{session_id}/cost").json()
    assert report["currency"] == "USD" and len(report["real"]["days"]) == 7
    assert report["real"]["days"][-1]["day"] == report["until"]
    today = report["real"]["days"][-1]["models"]
    assert [row["model"] for row in today] == ["minimax-m2.7"]
    assert Decimal(today[0]["cost"]) > 0 and today[0]["requests"] == 2  # tool call + answer
    assert report["real"]["month"]["cost"] == today[0]["cost"]
    assert report["real"]["top_sessions"][0]["name"] == "tokyo"
    assert report["simulated"]["period"] == {"cost": "0", "requests": 0, "unknown_cost_requests": 0}
    assert cost["real"]["cost"] == today[0]["cost"] and cost["simulated"]["requests"] == 0
    with keyed_server.client(KEY_B) as client:
        other = client.get("/v1/spend").json()
        assert client.get(f"/v1/sessions/{session_id}/cost").status_code == 404
    assert other["real"]["period"]["requests"] == 0
    assert all(not day["models"] for day in other["real"]["days"])
    assert other["real"]["top_sessions"] == []


@pytest.mark.slow
def test_a_session_cost_has_each_saved_turn_keyed_by_its_user_message(
    keyed_server: ServerThread, sim: Any
) -> None:
    with keyed_server.client(KEY_A) as client:
        session_id = _chat(client)  # a tool call and the answer: two requests
        sim.state.enqueue_faults(["bad_cost:-1"])  # the second turn's cost is unreadable
        reply = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "thanks"})
        assert reply.status_code == 200, reply.text
        messages = client.get(f"/v1/sessions/{session_id}").json()["messages"]
        cost = client.get(f"/v1/sessions/{session_id}/cost").json()
    users = [index for index, message in enumerate(messages) if message["role"] == "user"]
    first, second = cost["turns"]
    assert [first["message_index"], second["message_index"]] == users
    assert first["requests"] == 2 and first["unknown_cost_requests"] == 0
    assert Decimal(first["cost"]) > 0 and first["simulated"] is False
    assert second == {
        "message_index": users[1],
        "cost": None,  # unknown, never $0
        "requests": 1,
        "unknown_cost_requests": 1,
        "simulated": False,
    }
    assert Decimal(cost["real"]["cost"]) == Decimal(first["cost"])
    with keyed_server.client(KEY_B) as client:
        assert client.get(f"/v1/sessions/{session_id}/cost").status_code == 404


def test_turn_costs_of_an_offline_server_are_simulated(offline_server: ServerThread) -> None:
    with offline_server.client(None) as client:
        session_id = _chat(client, "hi", tools=[])
        turns = client.get(f"/v1/sessions/{session_id}/cost").json()["turns"]
    assert [(turn["message_index"], turn["simulated"]) for turn in turns] == [(0, True)]
    assert turns[0]["cost"] is not None


def test_models_of_an_offline_server_say_their_prices_are_made_up(
    offline_server: ServerThread,
) -> None:
    with offline_server.client(None) as client:
        listed = client.get("/v1/models").json()
    assert listed["models"] and listed["simulated"] is True


@pytest.mark.slow
def test_an_unknown_cost_stays_unknown_never_zero(keyed_server: ServerThread, sim: Any) -> None:
    # A cost comment the client must reject: the gateway billed something unreadable, so
    # the cost stays unknown even though the catalog prices the model.
    sim.state.enqueue_faults(["bad_cost:-1"])
    with keyed_server.client(KEY_A) as client:
        session_id = create_session(client, tools=[])
        reply = client.post(f"/v1/sessions/{session_id}/messages", json={"content": "hi"})
        assert reply.status_code == 200, reply.text
        report = client.get("/v1/spend").json()
        cost = client.get(f"/v1/sessions/{session_id}/cost").json()
    row = report["real"]["days"][-1]["models"][0]
    assert row["cost"] is None and row["unknown_cost_requests"] == row["requests"] == 1
    assert report["real"]["month"]["cost"] is None
    assert cost["real"] == {"cost": None, "requests": 1, "unknown_cost_requests": 1}


@pytest.mark.slow
def test_media_costs_and_resume_are_the_callers_own(keyed_server: ServerThread, sim: Any) -> None:
    fast(keyed_server)
    with keyed_server.client(KEY_A) as client:
        done = submit(client, "images", prompt="a fox")
        wait_for(client, done["id"], "completed")
        costs = _job_costs(client)
        finished = client.post(f"/v1/jobs/{done['id']}/resume")
        sim.state.media.enqueue_job_faults(["slow:2"])
        running = submit(client, "videos", prompt="a paper boat")
        resumed = client.post(f"/v1/jobs/{running['id']}/resume")
        wait_for(client, running["id"], "completed")
    assert [(c["job_id"], c["cost"]) for c in costs] == [(done["id"], "0.04")]  # catalog price
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "job_finished"
    assert resumed.status_code == 202 and resumed.json()["id"] == running["id"]
    with keyed_server.client(KEY_B) as client:
        assert client.get("/v1/media/costs").json() == {"jobs": []}
        assert client.post(f"/v1/jobs/{running['id']}/resume").status_code == 404


@pytest.mark.slow
def test_the_console_pages_need_no_key_and_run_only_our_scripts(
    keyed_server: ServerThread,
) -> None:
    with keyed_server.client(None) as client:
        for path in ("/", "/media", "/spend"):
            page = client.get(path)
            assert page.status_code == 200 and 'data-auth="bearer"' in page.text
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "default-src 'none'" in policy
            assert "frame-ancestors 'none'" in policy
        assert client.get("/console/assets/app.js").status_code == 200
        assert client.get("/v1/sessions").status_code == 401
        assert "/v1/models" in client.get("/openapi.json").json()["paths"]


def test_the_assets_are_small_and_reference_nothing_outside() -> None:
    files = [path for path in Path(STATIC).iterdir() if path.is_file()]
    assert sum(path.stat().st_size for path in files) < 200_000
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text.replace("https?:", "")
        assert ".innerHTML" not in text and "insertAdjacentHTML" not in text


def test_spend_carries_the_keys_daily_budget(make_server: Any) -> None:
    server = make_server(daily_budget_usd=Decimal("0.50"))
    with server.client(KEY_A) as client:
        before = client.get("/v1/spend").json()["budget"]
        _chat(client)
        after = client.get("/v1/spend").json()
    assert before == {"limit": "0.50", "spent": "0", "remaining": "0.50"}
    assert Decimal(after["budget"]["spent"]) == Decimal(after["real"]["month"]["cost"]) > 0


@pytest.mark.slow
def test_the_new_routes_never_echo_the_gateway_key(keyed_server: ServerThread, sim: Any) -> None:
    sim.state.echo_key = True  # the simulator puts the bearer token in everything it sends
    with keyed_server.client(KEY_A) as client:
        session_id = _chat(client)
        bodies = [
            client.get(path).text
            for path in ("/v1/models", "/v1/spend", f"/v1/sessions/{session_id}/cost")
        ]
    for body in bodies:
        assert GATEWAY_KEY not in body
    assert '"models":[{' in bodies[0]


@pytest.mark.slow
def test_a_file_link_streams_one_file_of_the_callers_job_without_the_key(
    keyed_server: ServerThread, sim: Any
) -> None:
    fast(keyed_server)
    with keyed_server.client(KEY_A) as client:
        job = submit(client, "videos", prompt="a paper boat")
        wait_for(client, job["id"], "completed")
        whole = client.get(f"/v1/jobs/{job['id']}/files/0").content
        link = client.post(f"/v1/jobs/{job['id']}/files/0/link")
        missing = client.post(f"/v1/jobs/{job['id']}/files/7/link")
    assert link.status_code == 200, link.text
    url, expires_in = link.json()["url"], link.json()["expires_in"]
    assert url.startswith("/media-links/") and 0 < expires_in <= 600
    for secret in (KEY_A, KEY_B, GATEWAY_KEY):
        assert secret not in url
    assert missing.status_code == 404
    with keyed_server.client(None) as anonymous:  # the link is the only credential
        streamed = anonymous.get(url)
        part = anonymous.get(url, headers={"Range": "bytes=0-9"})
        unknown = anonymous.get("/media-links/not-a-token-of-this-server")
        assert anonymous.get(f"/v1/jobs/{job['id']}/files/0").status_code == 401
    assert streamed.status_code == 200 and streamed.content == whole
    assert streamed.headers["content-type"].startswith("video/")
    assert part.status_code == 206 and part.content == whole[:10]
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "link_not_found"
    with keyed_server.client(KEY_B) as client:
        # Another key gets no link to this job; its own links open only its own files.
        assert client.post(f"/v1/jobs/{job['id']}/files/0/link").status_code == 404
        image = submit(client, "images", prompt="a fox")
        wait_for(client, image["id"], "completed")
        theirs = client.post(f"/v1/jobs/{image['id']}/files/0/link").json()["url"]
        own = client.get(f"/v1/jobs/{image['id']}/files/0").content
    with keyed_server.client(None) as anonymous:
        assert anonymous.get(theirs).content == own != whole


def test_a_file_link_expires_and_its_token_is_masked_in_the_log() -> None:
    import logging

    from alltoken_agent.server.console.links import FileLinks, MaskLinks

    links = FileLinks(seconds=0)  # expired as soon as made
    token, _ = links.issue("owner", "job_1", 0)
    assert links.resolve(token) is None
    live = FileLinks()
    token, _ = live.issue(None, "job_1", 0)
    assert live.resolve(token) == live.resolve(token) is not None  # a video asks many times
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/media-links/{token}", "1.1", 206),
        None,
    )
    assert MaskLinks().filter(record)
    assert token not in record.getMessage() and "/media-links/***" in record.getMessage()
