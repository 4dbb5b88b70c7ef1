"""The `echo_key` fault: a hostile gateway that repeats the caller's key everywhere.

With the `echo_key` fault on a request, or `SimulatorState.echo_key` switched on (then
for every request, whatever its other fault), the presented bearer token comes back:

* in the request id, `<id>-<token>`: the `x-gateway-request-id` header (on success and
  on error), the completion body's and chunks' `x-gateway-request-id`, and error
  envelopes' `request_id`;
* in every field of every error envelope, JSON or a mid-stream error event (`code`,
  `message`, `param`, `type`, `request_id`), and at the end of a non-JSON error body;
* in the reply text, which quotes it (and so splits it across chunks like any text).

Nothing here is in any spec: it is the hostile case the client's redaction is
tested against (a proxy that echoes the request's headers, say). The request log
never holds the token: it keeps the plain request id.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, Final

from starlette.responses import Response, StreamingResponse

from alltoken_agent.simulator.chunks import Emission, split_words

_FIELDS: Final = ("code", "message", "param", "type")
_ERROR_EVENT: Final = b'data: {"error"'


def echo_request_id(request_id: str, token: str) -> str:
    """The request id a key-echoing gateway sends: the real one with the token after it."""
    return f"{request_id}-{token}"


def echo_reply(emission: Emission, token: str) -> Emission:
    """The reply with a sentence quoting the key after its text (tool-call answers too)."""
    quote = tuple(split_words(f" Your key is {token} (simulated echo)."))
    return dataclasses.replace(emission, content=(*(emission.content or ()), *quote))


def echo_envelope(payload: Any, token: str, request_id: str) -> Any:
    """Put the token into every field of an `{"error": {...}}` envelope."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return payload
    error = dict(payload["error"])
    for name in _FIELDS:
        error[name] = f"{error.get(name) or name}-{token}"
    error["request_id"] = request_id
    return {**payload, "error": error}


def echo_response(response: Response, token: str, request_id: str) -> Response:
    """Make an error response (or a stream's error events) echo ``token`` in every field.

    Args:
        response: The response the endpoint or fault made.
        token: The presented bearer token.
        request_id: The echoing request id (see `echo_request_id`).

    Returns:
        The same response object, changed in place.
    """
    if isinstance(response, StreamingResponse):
        response.body_iterator = _echo_events(response.body_iterator, token, request_id)
        return response
    if response.status_code < 400 or not isinstance(response.body, bytes):
        return response
    try:
        payload = json.loads(response.body)
    except ValueError:
        body = response.body + f" {token}".encode()
    else:
        body = json.dumps(echo_envelope(payload, token, request_id)).encode()
    response.body = body
    response.headers["content-length"] = str(len(body))
    return response


async def _echo_events(
    events: AsyncIterable[Any], token: str, request_id: str
) -> AsyncIterator[Any]:
    async for event in events:
        if isinstance(event, bytes) and event.startswith(_ERROR_EVENT):
            payload = echo_envelope(json.loads(event[6:]), token, request_id)
            event = b"data: " + json.dumps(payload).encode() + b"\n\n"
        yield event
