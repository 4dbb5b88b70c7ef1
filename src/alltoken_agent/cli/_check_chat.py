"""The chat part of `alltoken-agent check`: the minimal request, its validation, the record.

The request goes through the provider's official ``openai`` SDK client, because only
the raw reply shows ``object`` (our own client does not keep it); retries follow the
gateway's retry policy, so they match `chat`.

The record starts with the TokenHub contract's completion template, field for field
(``integration_status``, ``provider_mode``, ``model``, ``endpoint``, ``validated_at``,
``notes``); everything else we know goes in further fields after them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from alltoken_agent import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
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

if TYPE_CHECKING:  # the gateway and the openai SDK are imported when the command runs
    import openai

    from alltoken_agent import Gateway, RetryNotice

T = TypeVar("T")

ENDPOINT = "POST /v1/chat/completions"
"""The contract's ``endpoint`` field: always this literal, whatever the base URL."""

SIMULATED = "simulated"
"""``integration_status`` when the simulator answered: never "success", which only a
real gateway can earn."""

PROMPT = "Reply with OK only."
"""The TokenHub contract's minimal request (§2.2): one user message, 32 tokens, temperature 0."""
MAX_TOKENS = 32
OBJECTS = frozenset({"chat.completion", "chat.completion.chunk"})

_CLASSES: dict[int, type[GatewayError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


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
    client = gateway.async_openai_client().with_options(max_retries=0)
    started = time.monotonic()
    try:
        response, attempts = await _within_total(gateway, _send(client, gateway, model, on_retry))
        data = _validate(response)
    except (GatewayError, _ContractError) as error:
        record.update(_failure(error, model), validated_at=now(), request_id=error.request_id)
        notes += _simulator_note(gateway, record)
        notes.append(gateway.redact(str(error)))
        record["notes"] = "; ".join(notes)
        return record, FAILURE if isinstance(error, _ContractError) else exit_code_for(error)
    finally:
        await client.close()
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


async def _send(
    client: openai.AsyncOpenAI,
    gateway: Gateway,
    model: str,
    on_retry: Callable[[RetryNotice], None] | None,
) -> tuple[Any, int]:
    """POST the minimal request, retrying as the gateway's retry policy says."""
    import openai

    from alltoken_agent import RetryNotice

    attempt = 0
    while True:
        try:
            raw = await client.chat.completions.with_raw_response.create(
                model=model,
                messages=[{"role": "user", "content": PROMPT}],
                max_tokens=MAX_TOKENS,
                temperature=0,
                stream=False,
            )
            gateway.note_reply(raw.http_response)
            return raw, attempt + 1
        except openai.APIError as exc:
            error = _gateway_error(exc, gateway)
        delay = gateway.retry.delay(attempt, error)
        if delay is None:
            error.attempts = attempt + 1
            raise error
        if on_retry is not None:
            on_retry(RetryNotice(attempt=attempt + 1, delay=delay, error=error))
        await asyncio.sleep(delay)
        attempt += 1


async def _within_total(gateway: Gateway, send: Awaitable[T]) -> T:
    """Await ``send`` (the request with its retries) under ``[timeouts] total``.

    The SDK's read timeout restarts on every byte, so a gateway that trickles the
    reply (or sends whitespace forever) would otherwise hold the check for good.

    Raises:
        GatewayTimeoutError: The deadline passed first (code ``total_timeout``).
    """
    import anyio

    total = gateway.deadlines.total
    if total is None:
        return await send
    with anyio.CancelScope(deadline=anyio.current_time() + total) as scope:
        return await send
    assert scope.cancelled_caught  # only reached when the deadline cancelled the send
    raise GatewayTimeoutError(
        f"{gateway.base_url} took longer than {total:g} s, retries included (total timeout)",
        code="total_timeout",
    )


def _gateway_error(exc: openai.APIError, gateway: Gateway) -> GatewayError:
    """Our error for an SDK failure, so retries, codes and exit codes match `chat`."""
    import openai

    redact = gateway.redact
    if isinstance(exc, openai.APITimeoutError):
        idle = gateway.deadlines.idle
        # The SDK client's read timeout is the idle deadline when that is the shorter.
        # (By name: the SDK may carry its own copy of httpx.)
        read = exc.request.extensions.get("timeout", {}).get("read")
        paused = type(exc.__cause__).__name__ == "ReadTimeout"
        if paused and idle is not None and read == idle:
            return GatewayTimeoutError(
                f"{gateway.base_url} sent nothing for {idle:g} s (idle timeout)",
                code="idle_timeout",
            )
        return GatewayTimeoutError(redact(f"no answer from {gateway.base_url} in time"))
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        reason = str(cause) if cause is not None and str(cause) else exc.message
        return GatewayConnectionError(redact(f"cannot reach {gateway.base_url}: {reason}"))
    if not isinstance(exc, openai.APIStatusError):
        return GatewayError(redact(exc.message))
    gateway.note_reply(exc.response)
    status = exc.status_code
    body: Mapping[str, Any] = exc.body if isinstance(exc.body, Mapping) else {}
    headers = exc.response.headers
    klass = _CLASSES.get(status) or (UpstreamError if status >= 500 else GatewayError)
    kwargs: dict[str, Any] = {
        "status": status,
        "code": _text(body.get("code")),
        "request_id": _text(body.get("request_id")) or _request_id({}, headers) or exc.request_id,
    }
    if klass is RateLimitError:
        kwargs["retry_after"] = _seconds(headers.get("retry-after"))
    message = _text(body.get("message")) or f"HTTP {status}"
    return klass(redact(message), **kwargs)


def _validate(response: Any) -> dict[str, Any]:
    """The reply's JSON, when it meets the integration contract (§2.2)."""
    status = int(response.status_code)
    request_id = _request_id({}, response.headers)
    if status != 200:
        raise _ContractError(f"HTTP {status}, expected 200", status=status, request_id=request_id)
    try:
        data = json.loads(response.http_response.content)
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


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def now() -> str:
    """The time of a validation, as the record holds it: ``2026-12-02T07:15:00Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
