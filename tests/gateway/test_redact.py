from __future__ import annotations

import itertools
import json
from urllib.parse import quote

import httpx
import pytest

from alltoken_agent import Gateway, Provider
from alltoken_agent.errors import ConflictError, GatewayError
from alltoken_agent.gateway._envelope import detach, error_from_payload
from alltoken_agent.gateway.redact import HOLD_MIN, MASK, Redactor, inbound_hook
from tests.gateway.wire_server import canned_server, http_response, sse


def test_known_secret_is_masked_everywhere() -> None:
    redact = Redactor(["k3y-value-123"])
    assert redact("a k3y-value-123 b k3y-value-123") == f"a {MASK} b {MASK}"


def test_bearer_tokens_and_key_shapes_are_masked_even_when_unknown() -> None:
    redact = Redactor()
    text = redact('Authorization: Bearer abc.def-123 and sk-ABCDEFGHIJKLMNOP and api_key="zzz999"')
    assert "abc.def-123" not in text
    assert "ABCDEFGHIJKLMNOP" not in text
    assert "zzz999" not in text
    assert "Bearer ***" in text


def test_repr_shows_no_secret() -> None:
    assert "secret-one" not in repr(Redactor(["secret-one"]))


def test_short_or_empty_secrets_do_not_mask_ordinary_text() -> None:
    assert Redactor(["", None, "ab"])("about abacus") == "about abacus"


KEY = "sk-live/ABCDEFGHIJ+klmnop0123"


def test_a_key_is_masked_in_the_forms_a_reply_spells_it() -> None:
    redact = Redactor([KEY])
    escaped = KEY.replace("/", "\\/")  # how some JSON writers send a slash
    encoded = quote(KEY, safe="")  # echoed inside a URL
    for text in (KEY, escaped, encoded, json.dumps({"id": KEY})):
        assert redact.known(f"id={text}!") == f"id={MASK}!" or KEY not in redact.known(text)
        assert KEY not in json.loads(json.dumps(redact.known(text)))
    assert redact.known_bytes(f"a {escaped} b".encode()) == f"a {MASK} b".encode()


def _splits(text: str, cuts: int) -> list[list[str]]:
    """Every way to cut ``text`` at ``cuts`` places (few enough to try them all)."""
    out = []
    for points in itertools.combinations(range(1, len(text)), cuts):
        bounds = [0, *points, len(text)]
        out.append([text[a:b] for a, b in itertools.pairwise(bounds)])
    return out


@pytest.mark.slow
def test_a_key_spelt_across_stream_pieces_is_never_shown_whole() -> None:
    key = "sk-test-abcdefghijklmnop-0123456789"
    text = f"The key {key} is {key}, see sk-"
    redact = Redactor([key])
    for pieces in _splits(text, 2) + _splits(text[:40], 3):
        guard = redact.guard()
        shown = "".join(guard.push(piece) for piece in pieces) + guard.flush()
        assert key not in shown, pieces
        # At most the first HOLD_MIN - 1 characters ("sk-") may show before the mask.
        assert key[HOLD_MIN - 1 : HOLD_MIN + 8] not in shown, pieces
        assert shown.startswith("The key "), shown


def test_ordinary_pieces_pass_through_the_guard_unchanged() -> None:
    guard = Redactor(["sk-test-abcdefghijklmnop"]).guard()
    pieces = ["This", " is", " sk", "etch", "es", " and", " s", "k-", " ok."]
    assert [guard.push(piece) for piece in pieces] == pieces
    assert guard.flush() == ""


def test_a_stream_that_ends_on_a_keys_start_shows_a_mask_for_it() -> None:
    guard = Redactor(["sk-test-abcdefghijklmnop"]).guard()
    assert guard.push("see sk-test-ab") == "see "
    assert guard.flush() == MASK


def test_every_field_of_an_error_envelope_is_masked() -> None:
    key = "sk-test-abcdefghijklmnop-0123456789"
    envelope = {
        "error": {name: f"{name} {key}" for name in ("code", "message", "param", "type")},
    }
    envelope["error"]["request_id"] = f"req-{key}"
    error = error_from_payload(
        envelope, status=409, headers={}, redact=Redactor([key]), cls=ConflictError
    )
    assert [error.code, error.message, error.param, error.type, error.request_id] == [
        f"code {MASK}",
        f"message {MASK}",
        f"param {MASK}",
        f"type {MASK}",
        f"req-{MASK}",
    ]


def test_detach_cuts_the_foreign_error_loose() -> None:
    def translate() -> None:
        try:
            raise ValueError("holds the request")
        except ValueError:
            raise GatewayError("broke") from None

    with pytest.raises(GatewayError) as caught:
        try:
            translate()
        except GatewayError as error:
            detach(error)
            raise
    assert caught.value.__context__ is None and caught.value.__cause__ is None


async def test_the_response_hook_masks_headers_and_bodies_of_the_gateways_replies() -> None:
    key = "sk-test-abcdefghijklmnop-0123456789"

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"x-gateway-request-id": f"r-{key}", "content-type": "application/json"},
            json={"id": f"id-{key}"},
        )

    hook = inbound_hook(Redactor([key]), "https://gw.example/v1")
    transport = httpx.MockTransport(reply)
    async with httpx.AsyncClient(transport=transport, event_hooks={"response": [hook]}) as client:
        ours = await client.get("https://gw.example/v1/models")
        elsewhere = await client.get("https://files.example/v1/models")
    assert ours.headers["x-gateway-request-id"] == f"r-{MASK}"
    assert ours.json() == {"id": f"id-{MASK}"}
    # A download from another host keeps its bytes; its headers are still cleaned.
    assert elsewhere.json() == {"id": f"id-{key}"}
    assert elsewhere.headers["x-gateway-request-id"] == f"r-{MASK}"


# -- a key hidden in JSON escapes, from a purpose-built server -----------------
# The simulator writes plain JSON; these bytes spell the key as \uXXXX escapes, which
# only a look at the decoded strings finds.

ECHOED = "sk-test-abcdefghijklmnop-0123456789"
ESCAPED = "".join(f"\\u{ord(c):04x}" for c in ECHOED)


def _canned_gateway(base_url: str) -> Gateway:
    provider = Provider(name="canned", base_url=base_url, api_key_env=None, dialect="openai")
    return Gateway(provider, api_key=ECHOED, model="m")


def _hidden(template: str) -> bytes:
    return template.replace("@KEY@", ESCAPED).encode()


async def test_a_key_in_json_escapes_is_masked_in_a_whole_reply() -> None:
    body = _hidden(
        '{"id": "c1", "model": "m", "x-gateway-request-id": "r-@KEY@", "choices": [{"index": 0,'
        ' "message": {"role": "assistant", "content": "key @KEY@"}, "finish_reason": "stop"}]}'
    )
    reply = http_response(200, {"Content-Type": "application/json"}, body)
    async with canned_server(reply) as url, _canned_gateway(url) as gateway:
        result = await gateway.chat([{"role": "user", "content": "hi"}])
    assert (result.request_id, result.text) == (f"r-{MASK}", f"key {MASK}")


async def test_a_key_in_json_escapes_is_masked_in_a_stream_and_an_error() -> None:
    body = sse(
        'data: {"id": "c1", "model": "m", "x-gateway-request-id": "r-@KEY@", "choices": '
        '[{"index": 0, "delta": {"content": "key @KEY@"}, "finish_reason": null}]}',
        'data: {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}',
        "data: [DONE]",
    ).replace(b"@KEY@", ESCAPED.encode())
    reply = http_response(200, {"Content-Type": "text/event-stream"}, body)
    async with canned_server(reply) as url, _canned_gateway(url) as gateway:
        result = await gateway.stream([{"role": "user", "content": "hi"}]).collect()
    assert (result.request_id, result.text) == (f"r-{MASK}", f"key {MASK}")

    error = _hidden('{"error": {"code": "c-@KEY@", "message": "m", "request_id": "r-@KEY@"}}')
    reply = http_response(400, {"Content-Type": "application/json"}, error)
    async with canned_server(reply) as url, _canned_gateway(url) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.chat([{"role": "user", "content": "hi"}])
    assert (caught.value.code, caught.value.request_id) == (f"c-{MASK}", f"r-{MASK}")


async def test_a_key_in_a_streamed_tool_call_is_masked_in_the_finished_call() -> None:
    body = sse(
        'data: {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": '
        '[{"index": 0, "id": "call-@KEY@", "function": {"name": "f", "arguments": '
        '"{\\"k\\": \\"sk-test-abcdefgh"}}]}, "finish_reason": null}]}',
        'data: {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": '
        '[{"index": 0, "function": {"arguments": "ijklmnop-0123456789\\"}"}}]}, '
        '"finish_reason": "tool_calls"}]}',
        "data: [DONE]",
    ).replace(b"@KEY@", ESCAPED.encode())
    reply = http_response(200, {"Content-Type": "text/event-stream"}, body)
    async with canned_server(reply) as url, _canned_gateway(url) as gateway:
        result = await gateway.stream([{"role": "user", "content": "hi"}]).collect()
    (call,) = result.tool_calls
    assert (call.id, call.arguments) == (f"call-{MASK}", f'{{"k": "{MASK}"}}')


async def test_a_key_in_json_escapes_beside_a_lone_surrogate_is_masked_and_the_text_safe() -> None:
    # Masking re-encodes the decoded body; a lone surrogate in it must not break that.
    body = _hidden(
        '{"id": "c1", "model": "m", "choices": [{"index": 0, "message": {"role": "assistant",'
        ' "content": "key @KEY@ odd \\ud800"}, "finish_reason": "stop"}]}'
    )
    reply = http_response(200, {"Content-Type": "application/json"}, body)
    async with canned_server(reply) as url, _canned_gateway(url) as gateway:
        result = await gateway.chat([{"role": "user", "content": "hi"}])
    assert result.text == f"key {MASK} odd \ufffd"
