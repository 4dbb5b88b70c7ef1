"""The API's routes, one module per concern; ``responses`` documents their error answers."""

from __future__ import annotations

from typing import Any

from alltoken_agent.server.schemas import ErrorResponse

_DESCRIPTIONS = {
    400: "The model gateway refused the request (e.g. an unknown model).",
    401: "No valid server key (send `Authorization: Bearer <key>`).",
    402: "The key's daily budget is used up.",
    403: "The key has as many sessions as the server keeps per key; delete some first.",
    404: "No such session, job or file for this key.",
    409: "The session is answering another message, on this server or another replica "
    "(see `Retry-After`), or the job cannot be cancelled.",
    413: "The request body is larger than the server's limit.",
    422: "The request is invalid; `error.details` names each problem.",
    429: "Too many requests, or too many runs in flight, for this key, or too many missing "
    "or wrong keys from this address (see `Retry-After`).",
    502: "The model gateway failed.",
    503: "The server is shutting down, or the gateway is rate limited (see `Retry-After`).",
    504: "The model gateway did not answer in time.",
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer"},
    }
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer (plus 401, 429 and 422)."""
    wanted = sorted({401, 422, 429, *statuses})
    out: dict[int | str, dict[str, Any]] = {}
    for status in wanted:
        entry: dict[str, Any] = {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        if status == 429:
            entry["headers"] = _RETRY_AFTER
        elif status == 409:  # a busy session says when to try again; a job conflict does not
            entry["headers"] = {"Retry-After": {**_RETRY_AFTER["Retry-After"], "required": False}}
        out[status] = entry
    return out
