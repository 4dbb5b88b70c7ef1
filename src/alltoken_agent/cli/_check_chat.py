"""The chat part of `alltoken-agent check`: the minimal request, its validation, the record.

The request goes through the gateway's one request path (``Gateway.request``), which
hands back the raw reply (its ``object`` is checked, which a parsed reply drops);
retries, ``Retry-After``, timeouts and error classes are those of `chat`.

The record starts with the TokenHub contract's completion template, field for field
(``integration_status``, ``provider_mode``, ``model``, ``endpoint``, ``validated_at``,
``notes``); everything else we know goes in further fields after them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from alltoken_agent import (
    AuthenticationError,
    BadRequestError,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    UpstreamError,
)
from alltoken_agent.cli.exit_codes import FAILURE, OK, exit_code_for

if TYPE_CHECKING:  # the gateway and httpx are imported when the command runs
    import httpx

    from alltoken_agent import Gateway, RetryNotice

ENDPOINT = "POST /v1/chat/completions"
"""The contract's ``endpoint`` field: always this literal, whatever the base URL."""

SIMULATED = "simulated"
"""``integration_status`` when the simulator answered: never "success", which only a
real gateway can earn."""

PROMPT = "Reply with OK only."
"""The TokenHub contract's minimal request (§2.2): one user message, 32 tokens, temperature 0."""
MAX_TOKENS = 32
OBJECTS = frozenset({"chat.completion", "chat.completion.chunk"})


class _ContractError(Exception):
    """The gateway answered, but not as the integration contract requires."""

    def __init__(self, message: str, *, status: int, request_id: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id


def new_record(gateway: Gateway, model: str) -> dict[str, Any]:
    """A failed record for ``gateway`` (the template's fields first), to be filled in."""
    offline = gateway.offline_simulator is not None
    return {
        "integration_status": "failed",
        "provider_mode": "offline-simulator" if offline else "online",
        "model": model,
        "endpoint": ENDPOINT,
        "validated_at": now(),
        "notes": "",
        "provider": gateway.provider.name,
        "base_url": gateway.redact(gateway.base_url),
        "request_id": None,
    }


def missing_key_record(
    provider: str, model: str | None, base_url: str, env: str | None
) -> dict[str, Any]:
    """The record of a check that sent nothing: no key is set for ``provider``.

    The contract's step 2 is to ask the user for a key, so this fails; it is never
    replaced by a run on the simulator, which would prove nothing about the gateway.
    """
    variable = env or "the provider's API key variable"
    return {
        "integration_status": "failed",
        "provider_mode": "online",
        "model": model,
        "endpoint": ENDPOINT,
        "validated_at": now(),
        "notes": f"no API key is set for provider {provider!r}: nothing was sent",
        "provider": provider,
        "base_url": base_url,
        "request_id": None,
        "error_code": "missing_api_key",
        "http_status": None,
        "attempts": 0,
        "recommended_action": f"ask the user for an API key and set {variable}; "
        "`check --offline` tries the built-in simulator instead (not the gateway)",
    }


async def run_check(
    gateway: Gateway,
    model: str,
    *,
    on_retry: Callable[[RetryNotice], None] | None = None,
) -> tuple[dict[str, Any], int]:
    """Run the check against ``gateway`` and return the record and the exit code."""
    record = new_record(gateway, model)
    notes: list[str] = []
    if record["provider_mode"] == "offline-simulator":
        notes.append("--offline: the built-in simulator answered, not the real gateway")
    started = time.monotonic()
    retries = 0

    def counted(notice: RetryNotice) -> None:
        nonlocal retries
        retries += 1
        if on_retry is not None:
            on_retry(notice)

    try:
        response = await gateway.request(
            "POST",
            "chat/completions",
            json={
                "model": model,
                "messages": [{"role": "user", "content": PROMPT}],
                "max_tokens": MAX_TOKENS,
                "temperature": 0,
                "stream": False,
            },
            on_retry=counted,
        )
        data = _validate(response)
    except (GatewayError, _ContractError) as error:
        record.update(_failure(error, model), validated_at=now(), request_id=error.request_id)
        notes += _simulator_note(gateway, record)
        notes.append(gateway.redact(str(error)))
        record["notes"] = "; ".join(notes)
        return record, FAILURE if isinstance(error, _ContractError) else exit_code_for(error)
    attempts = retries + 1
    content = data["choices"][0]["message"]["content"]
    notes += _simulator_note(gateway, record)
    record["integration_status"] = SIMULATED if gateway.simulated else "success"
    record["validated_at"] = now()
    record["request_id"] = _request_id(data, response.headers) or data.get("id")
    record["http_status"] = response.status_code
    record["attempts"] = attempts
    notes += [
        f"HTTP {response.status_code}, object {data['object']}, {len(data['choices'])} choice(s)",
        gateway.redact(f"reply: {_clip(str(content))}"),
        f"{attempts} attempt(s), {round((time.monotonic() - started) * 1000)} ms",
    ]
    record["notes"] = "; ".join(notes)
    return record, OK


def _validate(response: httpx.Response) -> dict[str, Any]:
    """The reply's JSON, when it meets the integration contract (§2.2)."""
    status = int(response.status_code)
    request_id = _request_id({}, response.headers)
    if status != 200:
        raise _ContractError(f"HTTP {status}, expected 200", status=status, request_id=request_id)
    try:
        data = json.loads(response.content)
    except ValueError:
        raise _ContractError(
            "the reply is not JSON", status=status, request_id=request_id
        ) from None
    if not isinstance(data, dict):
        raise _ContractError("the reply is not a JSON object", status=status, request_id=request_id)
    request_id = _request_id(data, response.headers)
    if data.get("object") not in OBJECTS:
        raise _ContractError(
            f"object is {data.get('object')!r}, expected chat.completion or chat.completion.chunk",
            status=status,
            request_id=request_id,
        )
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _ContractError("choices is missing or empty", status=status, request_id=request_id)
    first = choices[0] if isinstance(choices[0], dict) else {}
    message = first.get("message")
    if not isinstance(message, dict) or message.get("content") is None:
        raise _ContractError(
            "choices[0].message.content is null", status=status, request_id=request_id
        )
    return data


def _simulator_note(gateway: Gateway, record: dict[str, Any]) -> list[str]:
    """Say so when a simulator found at the base URL answered (its replies are labelled)."""
    if not gateway.simulated or record["provider_mode"] == "offline-simulator":
        return []
    record["provider_mode"] = "offline-simulator"
    return ["the simulator answered at this base URL (its X-Simulator header), not a gateway"]


def _failure(error: GatewayError | _ContractError, model: str) -> dict[str, Any]:
    if isinstance(error, _ContractError):
        return {
            "error_code": "contract_violation",
            "http_status": error.status,
            "attempts": 1,
            "recommended_action": "report the failure: the reply does not meet the integration "
            "contract (HTTP 200, object chat.completion, non-empty choices, non-null content)",
        }
    return {
        "error_code": error.code,
        "http_status": error.status,
        "attempts": error.attempts,
        "recommended_action": recommended_action(error, model),
    }


def recommended_action(error: GatewayError, model: str) -> str:
    """What to do about a failed check (docs/wire-format.md §2.5)."""
    retries = max(error.attempts - 1, 0)
    if isinstance(error, AuthenticationError):
        return "request a new API key"
    if isinstance(error, PermissionDeniedError):
        return "request a new API key, or one allowed to use this model"
    if isinstance(error, PaymentRequiredError):
        return "top up the balance"
    if isinstance(error, (RateLimitError, UpstreamError)):
        return f"retried with backoff {retries} times; report the failure"
    if isinstance(error, (GatewayConnectionError, GatewayTimeoutError)):
        return f"check the base URL/network (retried {retries} times)"
    if isinstance(error, NotFoundError):
        return (
            f"check the model id {model!r}: try the other form (bare or provider/model) "
            "or another model"
        )
    if isinstance(error, BadRequestError):
        return "fix the request: check the model id and the provider's parameters"
    return "report the failure"


def _request_id(data: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    return _text(data.get("x-gateway-request-id")) or headers.get("x-gateway-request-id")


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def now() -> str:
    """The time of a validation, as the record holds it: ``2026-12-02T07:15:00Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
