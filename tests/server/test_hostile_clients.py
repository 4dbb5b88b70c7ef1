"""The server against hostile clients: DNS rebinding, key guessing, slow headers, session floods."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import httpx
import pytest

from alltoken_agent.server.guard import AuthFailures
from tests.server.conftest import KEY_A, KEY_B, MakeServer, ServerThread, auth, create_session

WRONG_KEY = "server-key-mallory-0123456789abcd"


def _port(server: ServerThread) -> int:
    return int(server.url.rsplit(":", 1)[1])


# Host check (a server without keys)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}"])
def test_an_open_server_answers_its_loopback_names(make_server: MakeServer, host: str) -> None:
    server = make_server(keys=None)
    with server.client(key=None) as client:
        response = client.get("/v1/sessions", headers={"Host": host.format(port=_port(server))})
    assert response.status_code == 200, response.text


@pytest.mark.slow
@pytest.mark.parametrize(
    "host",
    [
        "rebind.example:{port}",  # DNS rebinding: the attacker's name, resolved to 127.0.0.1
        "127.0.0.1.rebind.example:{port}",
        "localhost:{other}",  # another port: another server on this machine
        "127.0.0.1",  # no port, and we are not on 80
        "",
    ],
)
def test_an_open_server_refuses_other_host_headers(make_server: MakeServer, host: str) -> None:
    server = make_server(keys=None)
    port = _port(server)
    with server.client(key=None) as client:
        before = len(server.store.sessions.list_sessions())
        value = host.format(port=port, other=port + 1)
        response = client.post("/v1/sessions", json={}, headers={"Host": value})
        after = len(server.store.sessions.list_sessions())
    assert response.status_code == 421
    assert response.json()["error"]["code"] == "host_not_allowed"
    assert "DNS rebinding" in response.json()["error"]["message"]
    assert after == before  # nothing was done for it


def test_a_server_with_keys_serves_any_host_name(server: ServerThread) -> None:
    """With keys, the key is the defence (and a proxy may use any name)."""
    with server.client() as client:
        response = client.get("/v1/sessions", headers={"Host": "agents.example.com"})
    assert response.status_code == 200


# Failed authentication, counted per client address


def test_failed_keys_from_one_address_are_rate_limited(make_server: MakeServer) -> None:
    server = make_server(auth_failure_limit=3, auth_failure_window=600)
    with server.client(key=WRONG_KEY) as wrong, server.client(key=KEY_A) as right:
        statuses = [wrong.get("/v1/sessions").status_code for _ in range(3)]
        blocked = wrong.get("/v1/sessions")
        no_key = right.get("/v1/sessions", headers={"Authorization": ""})
        even_the_right_key = right.get("/v1/sessions")
    assert statuses == [401, 401, 401]
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_auth_failures"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 600
    assert no_key.status_code == 429
    # While blocked, a key is not checked at all: a guess that is right is not confirmed.
    assert even_the_right_key.status_code == 429


def test_another_address_is_not_blocked_by_one_that_guesses(make_server: MakeServer) -> None:
    server = make_server(auth_failure_limit=2, auth_failure_window=600)
    with server.client(key=WRONG_KEY) as wrong:
        for _ in range(3):
            wrong.get("/v1/sessions")
    other = httpx.HTTPTransport(local_address="127.0.0.2")  # loopback, another address
    with server.client(key=KEY_B, transport=other) as client:
        response = client.get("/v1/sessions")
    assert response.status_code == 200


def test_successful_requests_do_not_count_as_failures(make_server: MakeServer) -> None:
    server = make_server(auth_failure_limit=2, auth_failure_window=600, rate_limit_per_minute=6000)
    with server.client() as client:
        statuses = {client.get("/v1/sessions").status_code for _ in range(5)}
    assert statuses == {200}


def test_the_failure_window_moves_on() -> None:
    """The window's end, on a clock the test turns (no waiting in a test)."""
    now = [1000.0]
    failures = AuthFailures(2, 60.0, clock=lambda: now[0])
    failures.record("10.0.0.1")
    now[0] += 30
    failures.record("10.0.0.1")
    assert failures.retry_after("10.0.0.1") == 30
    assert failures.retry_after("10.0.0.2") == 0
    now[0] += 30.5  # the first failure has left the window
    assert failures.retry_after("10.0.0.1") == 0


def test_failures_are_remembered_for_a_bounded_number_of_addresses() -> None:
    failures = AuthFailures(1, 60.0, clock=lambda: 0.0, max_addresses=3)
    for n in range(10):
        failures.record(f"10.0.0.{n}")
    blocked = [n for n in range(10) if failures.retry_after(f"10.0.0.{n}")]
    assert blocked == [7, 8, 9]


# Slow headers


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
def test_a_client_trickling_its_headers_is_cut_off_with_408(make_server: MakeServer) -> None:
    server = make_server(header_timeout=0.5)
    port = _port(server)
    sent = {"bytes": 0, "finished": False}
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(f"GET /v1/capabilities HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())

        def trickle() -> None:
            # A header line one byte at a time, for far longer than the deadline.
            try:
                for _ in range(600):
                    sock.sendall(b"a" if sent["bytes"] else b"X-Slow: ")
                    sent["bytes"] += 1
                    time.sleep(0.1)
                sock.sendall(b"\r\n\r\n")
                sent["finished"] = True
            except OSError:
                return  # the server closed the connection

        writer = threading.Thread(target=trickle, daemon=True)
        writer.start()
        reply = _read_all(sock)
        # Stops the trickle. A byte it sent after the server closed was answered with a
        # reset, and a reset connection refuses a shutdown (ENOTCONN): the trickle's
        # next send fails then anyway.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    writer.join(60)
    assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), reply
    assert b"\r\nx-request-cost: 0\r\n" in reply.lower()
    assert not sent["finished"]  # cut off before the headers were ever complete
    # The server is fine for everyone else.
    with server.client() as client:
        assert client.get("/v1/capabilities").status_code == 200


@pytest.mark.slow
def test_a_silent_connection_is_closed_too(make_server: MakeServer) -> None:
    """Without a reply: a client may send a request just then, and take a 408 for its answer."""
    server = make_server(header_timeout=0.5)
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=60) as sock:
        reply = _read_all(sock)  # returns only once the server has closed the connection
    assert reply == b""


def test_a_kept_alive_connection_is_reused_within_the_deadline(make_server: MakeServer) -> None:
    server = make_server(header_timeout=5)
    with server.client() as client:
        first = client.get("/v1/capabilities")
        second = client.get("/v1/capabilities")
    assert first.status_code == second.status_code == 200


@pytest.mark.slow
def test_headers_in_time_then_a_slow_body_are_answered(make_server: MakeServer) -> None:
    """The deadline is for the headers only; a request under way is not cut off."""
    server = make_server(header_timeout=0.5)
    port = _port(server)
    body = b"{}"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(
            (
                f"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {KEY_A}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        time.sleep(1.0)  # the body comes after the header deadline has passed
        sock.sendall(body)
        reply = _read_all(sock)
    assert reply.startswith(b"HTTP/1.1 201 "), reply


# Session quota


def test_a_key_past_its_session_quota_gets_403(make_server: MakeServer) -> None:
    server = make_server(max_sessions_per_key=2, rate_limit_per_minute=6000)
    with server.client(KEY_A) as alice, server.client(KEY_B) as bob:
        first = create_session(alice)
        create_session(alice)
        refused = alice.post("/v1/sessions", json={})
        create_session(bob)  # the quota is per key
        assert alice.delete(f"/v1/sessions/{first}").status_code == 204
        again = alice.post("/v1/sessions", json={})
        count = len(alice.get("/v1/sessions").json()["sessions"])
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "session_quota_exceeded" and "2 sessions" in error["message"]
    assert again.status_code == 201
    assert count == 2


def test_an_open_server_has_no_session_quota(make_server: MakeServer) -> None:
    server = make_server(keys=None, max_sessions_per_key=1)
    with server.client(key=None) as client:
        statuses = [client.post("/v1/sessions", json={}).status_code for _ in range(2)]
    assert statuses == [201, 201]


def test_session_quota_setting_is_checked() -> None:
    from alltoken_agent import ConfigError
    from alltoken_agent.server import ServerOptions

    with pytest.raises(ConfigError, match="max_sessions_per_key"):
        ServerOptions(max_sessions_per_key=0)
    with pytest.raises(ConfigError, match="header_timeout"):
        ServerOptions(header_timeout=0)


def test_the_new_settings_come_from_the_config_file() -> None:
    from alltoken_agent import Config
    from alltoken_agent.server import ServerOptions

    config = Config.model_validate(
        {
            "server": {
                "header_timeout": 3,
                "auth_failure_limit": 4,
                "auth_failure_window": 30,
                "max_sessions_per_key": 5,
            }
        }
    )
    options = ServerOptions.from_config(config, environ={})
    assert (options.header_timeout, options.auth_failure_limit) == (3, 4)
    assert (options.auth_failure_window, options.max_sessions_per_key) == (30, 5)


def test_wrong_keys_are_not_echoed(make_server: MakeServer) -> None:
    server = make_server(auth_failure_limit=1, auth_failure_window=600)
    with server.client(key=WRONG_KEY) as client:
        replies = [client.get("/v1/sessions") for _ in range(2)]
    for reply in replies:
        assert WRONG_KEY not in reply.text and WRONG_KEY not in str(reply.headers)
    assert auth(WRONG_KEY)["Authorization"] not in replies[1].text


# Numbers out of range


@pytest.mark.slow
@pytest.mark.parametrize("since", ["99999999999d", "99999999999999999999999999h"])
def test_a_usage_span_too_long_is_a_422_not_a_500(server: ServerThread, since: str) -> None:
    with server.client() as client:
        response = client.get("/v1/usage", params={"since": since})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_concurrent_creates_cannot_pass_the_quota_together(make_server: MakeServer) -> None:
    server = make_server(max_sessions_per_key=3, rate_limit_per_minute=6000, rate_limit_burst=100)
    statuses: list[int] = []
    with server.client(KEY_A) as client:

        def create() -> None:
            statuses.append(client.post("/v1/sessions", json={}).status_code)

        threads = [threading.Thread(target=create) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        held = len(client.get("/v1/sessions").json()["sessions"])
    assert sorted(statuses) == [201] * 3 + [403] * 9
    assert held == 3
