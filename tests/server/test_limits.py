"""Limits: body size (413, without reading the body), rate (429 + Retry-After), runs in flight."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import pytest

from tests.server.conftest import KEY_A, KEY_B, MakeServer, ServerThread, create_session

LIMIT = 64 * 1024


def _raw_request(server: ServerThread, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request head and some body bytes, never finishing the body; return the reply."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all: fine
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            reply += data
    return reply


def _head(extra: str) -> bytes:
    return (
        "POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {KEY_A}\r\nContent-Type: application/json\r\n{extra}\r\n"
    ).encode()


def test_a_chunked_body_past_the_limit_gets_413_before_it_ends(make_server: MakeServer) -> None:
    server = make_server(max_body_bytes=LIMIT)
    piece = b"x" * 16384
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(6)]  # 96 KiB, never ended
    reply = _raw_request(server, _head("Transfer-Encoding: chunked\r\n"), chunks)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"code":"request_too_large"' in reply
    assert b"65536 bytes" in reply


def test_a_declared_length_past_the_limit_gets_413_without_any_body(
    make_server: MakeServer,
) -> None:
    server = make_server(max_body_bytes=LIMIT)
    reply = _raw_request(server, _head(f"Content-Length: {10**9}\r\n"), [])
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_bodies_within_the_limit_pass_chunked_or_not(make_server: MakeServer) -> None:
    server = make_server(max_body_bytes=LIMIT)
    padding = " " * (LIMIT - 100)
    body = ('{"instructions": "short"' + padding + "}").encode()

    def pieces() -> Any:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    with server.client() as client:
        plain = client.post(
            "/v1/sessions", content=body, headers={"Content-Type": "application/json"}
        )
        chunked = client.post(
            "/v1/sessions", content=pieces(), headers={"Content-Type": "application/json"}
        )
        too_big = client.post(
            "/v1/sessions",
            content=body + b" " * 200,
            headers={"Content-Type": "application/json"},
        )
    assert plain.status_code == chunked.status_code == 201
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "request_too_large"


@pytest.mark.slow
def test_the_rate_limit_is_per_key_with_retry_after(make_server: MakeServer) -> None:
    server = make_server(rate_limit_per_minute=60, rate_limit_burst=2)
    with server.client(KEY_A) as alice, server.client(KEY_B) as bob:
        first, second, third = (alice.get("/v1/sessions") for _ in range(3))
        assert first.status_code == second.status_code == 200
        assert third.status_code == 429
        assert third.json()["error"]["code"] == "rate_limited"
        wait = int(third.headers["retry-after"])
        assert 1 <= wait <= 2
        assert bob.get("/v1/sessions").status_code == 200  # another key is not limited
        time.sleep(wait)
        assert alice.get("/v1/sessions").status_code == 200


def _hold_a_stream(
    server: ServerThread, session_id: str, started: threading.Event, release: threading.Event
) -> None:
    with (
        server.client() as client,
        client.stream(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"content": "hello there"},
            headers={"Accept": "text/event-stream"},
        ) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("event: stream:delta"):
                started.set()
                release.wait(10)
                return  # closing the stream cancels the run


def test_runs_in_flight_are_limited_per_key_and_per_session(
    make_server: MakeServer, sim: Any
) -> None:
    server = make_server(max_concurrent_runs=1, shutdown_grace=0)
    with server.client(KEY_A) as alice, server.client(KEY_B) as bob:
        busy = create_session(alice)
        other = create_session(alice)
        bobs = create_session(bob)
        sim.state.enqueue_faults(["stall:2:5"])
        started, release = threading.Event(), threading.Event()
        holder = threading.Thread(target=_hold_a_stream, args=(server, busy, started, release))
        holder.start()
        try:
            assert started.wait(10)
            same = alice.post(f"/v1/sessions/{busy}/messages", json={"content": "again"})
            second = alice.post(f"/v1/sessions/{other}/messages", json={"content": "more"})
            deleted = alice.delete(f"/v1/sessions/{busy}")
            bob_reply = bob.post(f"/v1/sessions/{bobs}/messages", json={"content": "hi"})
        finally:
            release.set()
            holder.join(10)
        assert same.status_code == 409 and same.json()["error"]["code"] == "session_busy"
        assert second.status_code == 429
        assert second.json()["error"]["code"] == "too_many_concurrent_runs"
        assert second.headers["retry-after"] == "1"
        assert deleted.status_code == 409
        assert bob_reply.status_code == 200  # the limit is per key
        # The cancelled run gave its slot back.
        deadline = time.monotonic() + 5
        while server.context.runs and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (
            alice.post(f"/v1/sessions/{other}/messages", json={"content": "now"}).status_code == 200
        )


def test_ids_are_validated_not_trusted(server: ServerThread) -> None:
    with server.client() as client:
        long_id = client.get("/v1/sessions/" + "x" * 300)
        odd = client.get("/v1/sessions/%00%ff")
    assert long_id.status_code == 422
    assert odd.status_code == 404


def test_headers_of_an_http_client_library_work(server: ServerThread) -> None:
    # An ordinary client (no keep-alive tricks) gets JSON back from every route.
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY_A}"}) as client:
        session_id = create_session(client)
        assert (
            client.get(f"/v1/sessions/{session_id}").headers["content-type"] == "application/json"
        )
