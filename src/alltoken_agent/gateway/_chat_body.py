"""The JSON body of a chat completion request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alltoken_agent.errors import ConfigError


def chat_body(
    messages: Sequence[Mapping[str, Any]],
    model: str | None,
    provider: str,
    fields: dict[str, Any],
    *,
    stream: bool,
) -> dict[str, Any]:
    """The request body; ``model`` is the one asked for, else the gateway's default.

    A stream always asks for ``stream_options.include_usage``; a whole reply never
    sends ``stream_options``.

    Raises:
        ConfigError: No model was chosen.
    """
    if not model:
        raise ConfigError(
            f"no model chosen for provider {provider!r}: pass model= "
            "(--model) or set `model` in the config file"
        )
    body: dict[str, Any] = {"model": model, "messages": list(messages), **fields}
    body["stream"] = stream
    if stream:
        options = dict(body.get("stream_options") or {})
        options["include_usage"] = True
        body["stream_options"] = options
    else:
        body.pop("stream_options", None)
    return body
