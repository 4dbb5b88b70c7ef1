"""The one-request-at-a-time transport (gateway/_asyncio_transport.py): h11 on asyncio.

What ``chat`` sends its requests on. Real loopback servers throughout: the counting
server of test_transport.py for reuse and the cap, raw servers for each failure, and
a TLS server with a certificate made here.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import ipaddress
import ssl
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from alltoken_agent.gateway._asyncio_transport import AsyncioTransport
from tests.gateway.helpers import asyncio_transport_gateway as transport_gateway
from tests.gateway.helpers import user
from tests.gateway.test_transport import counting_server, raw_server, until
from tests.gateway.wire_server import canned_server, http_response

# -- reuse and the cap -------------------------------------------------------------


async def test_sequential_streams_reuse_one_connection() -> None:
    async with counting_server() as server, transport_gateway(server) as gateway:
        for _ in range(4):
            result = await gateway.stream(user("hi")).collect()
            assert result.text == "ab" and result.cost is not None
        assert server.accepted == 1


async def test_max_connections_caps_the_open_connections() -> None:
    async with counting_server() as server, transport_gateway(server, max_connections=2) as gw:
        streams = [asyncio.ensure_future(gw.stream(user("hold")).collect()) for _ in range(5)]
        await until(lambda: server.held >= 2)
        await asyncio.sleep(0.1)  # room for a third connection, were there no cap
        assert server.open_now == 2
        server.release.set()
        results = await asyncio.gather(*streams)
    assert [r.text for r in results] == ["ab"] * 5
    # The waiting requests took the connections handed back instead of dialling.
    assert server.peak == 2 and server.accepted == 2


async def test_a_request_waiting_past_the_pool_timeout_is_a_pool_timeout() -> None:
    async with counting_server() as server:
        transport = AsyncioTransport(max_connections=1)
        async with httpx.AsyncClient(transport=transport) as client:
            held = await client.send(
                client.build_request(
                    "POST", server.base_url, json={"messages": [{"content": "hold"}]}
                ),
                stream=True,
            )
            with pytest.raises(httpx.PoolTimeout):
                await client.post(
                    server.base_url,
                    json={"messages": [{"content": "hi"}]},
                    timeout=httpx.Timeout(5.0, pool=0.05),
                )
            await held.aclose()  # its place is free again
            server.release.set()
            reply = await client.post(server.base_url, json={"messages": [{"content": "hi"}]})
            assert b"[DONE]" in reply.content


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    answer = http_response(200, {}, b"ok")
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)  # keep-alive by HTTP/1.1's default, then hang up anyway
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        async with httpx.AsyncClient(transport=AsyncioTransport()) as client:
            assert (await client.get(url)).content == b"ok"
            transport: Any = client._transport
            (idle,) = transport._idle.values()
            reader = idle[0]._reader
            while not reader.at_eof():  # the server's FIN has arrived
                await asyncio.sleep(0.01)
            assert (await client.get(url)).content == b"ok"
        assert len(accepted) == 2
    finally:
        server.close()
        await server.wait_closed()


async def test_a_connection_the_server_sent_bytes_on_while_idle_is_not_reused() -> None:
    answer = http_response(200, {}, b"ok")
    accepted: list[int] = []
    first_read = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            if len(accepted) == 1:
                await first_read.wait()
                writer.write(b"HTTP/1.1 200 OK\r\n")  # unasked: the connection is spoilt
            await writer.drain()
            await reader.read()  # until the client hangs up
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        async with httpx.AsyncClient(transport=AsyncioTransport()) as client:
            assert (await client.get(url)).content == b"ok"
            transport: Any = client._transport
            (idle,) = transport._idle.values()
            first_read.set()
            while not idle[0]._reader._buffer:  # the unasked bytes have arrived
                await asyncio.sleep(0.01)
            assert (await client.get(url)).content == b"ok"
        assert len(accepted) == 2
    finally:
        server.close()
        await server.wait_closed()


def test_a_transport_keeps_working_on_a_second_event_loop(sim: Any) -> None:
    gateway = transport_gateway(sim)

    async def collect() -> str:
        return (await gateway.stream(user("hi")).collect()).text

    with warnings.catch_warnings():
        # The first loop's sockets can no longer be closed through it (as with httpx's pool).
        warnings.simplefilter("ignore", ResourceWarning)
        first = asyncio.run(collect())
        second = asyncio.run(collect())
        asyncio.run(gateway.aclose())
        gc.collect()
    assert first == second and "simulated" in first.lower()


# -- the bytes on the wire ---------------------------------------------------------------


@pytest.mark.parametrize("body", ["json", "stream"])
async def test_a_request_goes_on_the_wire_as_httpx_own_transport_sends_it(body: str) -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a":'
        yield b"1}"

    async with canned_server(http_response(200, {}, b"{}"), seen) as url:
        for transport in (httpx.AsyncHTTPTransport(), AsyncioTransport()):
            async with httpx.AsyncClient(transport=transport, headers={"X-Case": "Kept"}) as c:
                if body == "json":
                    reply = await c.post(url + "/chat/completions?x=1", json={"é": [1, 2]})
                else:
                    reply = await c.post(
                        url + "/chat", content=chunks(), headers={"content-length": "7"}
                    )
                assert reply.status_code == 200 and reply.json() == {}
    ours, theirs = seen[1], seen[0]
    assert ours == theirs


async def test_a_reply_reads_as_with_httpx_own_transport() -> None:
    answer = (
        b"HTTP/1.1 201 Made Here\r\nX-Request-ID: r-1\r\ntransfer-encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    replies = []
    for transport in (httpx.AsyncHTTPTransport(), AsyncioTransport()):
        async with raw_server(answer) as url, httpx.AsyncClient(transport=transport) as client:
            reply = await client.get(url)
            replies.append(
                (
                    reply.status_code,
                    reply.reason_phrase,
                    reply.http_version,
                    reply.headers.raw,
                    reply.content,
                )
            )
    assert replies[1] == replies[0]
    assert replies[1][1] == "Made Here" and replies[1][4] == b"abcde"


# -- failures, named as httpx's own transport names them -------------------------------


async def _get(url: str, read: float = 5.0, **options: Any) -> bytes:
    async with httpx.AsyncClient(transport=AsyncioTransport(**options)) as client:
        response = await client.get(url, timeout=httpx.Timeout(5.0, read=read))
        return response.content


async def test_a_refused_connection_is_a_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(httpx.ConnectError) as caught:
        await _get(f"http://127.0.0.1:{port}/")
    assert not isinstance(caught.value, httpx.TimeoutException)


async def test_a_server_that_hangs_up_without_a_reply_is_a_remote_protocol_error() -> None:
    async with raw_server(None) as url:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await _get(url)


async def test_a_garbled_status_line_is_a_remote_protocol_error() -> None:
    async with raw_server(b"HTTP/1.1 abc nonsense\r\n\r\n") as url:
        with pytest.raises(httpx.RemoteProtocolError):
            await _get(url)


async def test_a_peer_closing_mid_body_is_a_remote_protocol_error() -> None:
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this"
    async with raw_server(answer) as url:
        with pytest.raises(httpx.RemoteProtocolError, match="incomplete|complete message"):
            await _get(url)
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabc"
    async with raw_server(chunked) as url:
        with pytest.raises(httpx.RemoteProtocolError):
            await _get(url)


async def test_a_reply_that_ends_with_the_connection_is_read_to_its_end() -> None:
    # No length and no chunks: the body is what comes before the server closes.
    async with raw_server(b"HTTP/1.0 200 OK\r\n\r\nall of it") as url:
        assert await _get(url) == b"all of it"


async def test_a_silent_server_is_a_read_timeout() -> None:
    async with raw_server(None, close=False) as url:
        with pytest.raises(httpx.ReadTimeout):
            await _get(url, read=0.2)


async def test_a_server_silent_mid_body_is_a_read_timeout() -> None:
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nsome"
    async with raw_server(answer, close=False) as url:
        with pytest.raises(httpx.ReadTimeout):
            await _get(url, read=0.2)


async def test_a_server_that_stops_reading_the_body_is_a_write_timeout() -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(256):  # 256 MiB at most: far past what the socket buffers hold
            yield bytes(1024 * 1024)

    async with raw_server(None, close=False) as url:  # reads the head, then nothing
        async with httpx.AsyncClient(transport=AsyncioTransport()) as client:
            with pytest.raises(httpx.WriteTimeout):
                await client.post(url, content=body(), timeout=httpx.Timeout(5.0, write=0.2))


async def test_a_tls_handshake_that_never_ends_is_a_connect_timeout() -> None:
    async with raw_server(None, close=False) as url:  # TCP only: it never answers a hello
        async with httpx.AsyncClient(transport=AsyncioTransport()) as client:
            with pytest.raises(httpx.ConnectTimeout):
                await client.get(url.replace("http:", "https:"), timeout=httpx.Timeout(0.2))


async def test_an_unknown_scheme_is_unsupported() -> None:
    transport = AsyncioTransport()
    with pytest.raises(httpx.UnsupportedProtocol):
        await transport.handle_async_request(httpx.Request("GET", "ftp://127.0.0.1/"))


async def test_a_redirect_is_handed_back_not_followed() -> None:
    answer = (
        b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://example.invalid/\r\n"
        b"content-length: 0\r\n\r\n"
    )
    async with raw_server(answer) as url:
        async with httpx.AsyncClient(transport=AsyncioTransport()) as client:
            response = await client.get(url)
    assert response.status_code == 307


# -- TLS -----------------------------------------------------------------------------


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and 127.0.0.1 signed by its own key: (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@asynccontextmanager
async def tls_server(folder: Path, names: list[str | None]) -> AsyncIterator[tuple[int, Path]]:
    """An HTTPS server answering ``ok`` on 127.0.0.1; ``names`` gets each SNI name."""
    cert, key = _self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc,func-returns-value]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(http_response(200, {}, b"ok"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1], cert
    finally:
        server.close()
        await server.wait_closed()


async def test_https_with_a_trusted_certificate_works_and_sends_the_host_name(
    tmp_path: Path,
) -> None:
    names: list[str | None] = []
    async with tls_server(tmp_path, names) as (port, cert):
        trusting = ssl.create_default_context(cafile=str(cert))
        async with httpx.AsyncClient(transport=AsyncioTransport(verify=trusting)) as client:
            for _ in range(2):
                reply = await client.get(f"https://localhost:{port}/")
                assert reply.content == b"ok"
            sni = await client.get(
                f"https://127.0.0.1:{port}/", extensions={"sni_hostname": "localhost"}
            )
            assert sni.content == b"ok"
    assert names == ["localhost", "localhost"]  # one connection kept, then the SNI one


async def test_https_with_an_untrusted_certificate_is_a_connect_error(tmp_path: Path) -> None:
    async with tls_server(tmp_path, []) as (port, _):
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await _get(f"https://localhost:{port}/")
