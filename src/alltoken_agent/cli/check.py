"""`alltoken-agent check`: the automated integration check of gateway-api.md §2.2 and §2.5.

The request goes through the provider's official ``openai`` SDK client, because only
the raw reply shows ``object`` (our own client does not keep it); retries follow the
gateway's retry policy, so they match `chat`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

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
    UserError,
)
from alltoken_agent.cli.exit_codes import FAILURE, OK, USAGE, exit_code_for
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    ModelOpt,
    OfflineOpt,
    ProviderOpt,
    open_gateway,
    print_retry,
)
from alltoken_agent.cli.output import EventWriter, run_command

if TYPE_CHECKING:  # the gateway and the openai SDK are imported when the command runs
    import openai

    from alltoken_agent import Gateway, RetryNotice

PROMPT = "Reply with OK only."
"""The seed's minimal request (§2.2): one user message, 32 tokens, temperature 0."""
MAX_TOKENS = 32
OBJECTS = frozenset({"chat.completion", "chat.completion.chunk"})
MEDIA_UNAVAILABLE = (
    "media checks are not available in this version (image and video support is not "
    "installed yet); run `alltoken-agent check` without --media"
)

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


def check(
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the record to FILE (replaced atomically) instead of stdout.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    media: Annotated[
        bool, typer.Option("--media", help="Also check the image and video endpoints.")
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the record on stdout as one line of JSON (also with -o); no summary "
            "line on stderr.",
        ),
    ] = False,
    offline: OfflineOpt = False,
) -> None:
    """Check that a provider answers a minimal chat request as the integration contract says.

    Sends "Reply with OK only." (max_tokens 32, temperature 0, not streamed) and
    validates the raw reply: HTTP 200, `object` chat.completion(.chunk), non-empty
    `choices`, non-null `choices[0].message.content`. 429 and 5xx are retried with
    backoff. Writes a JSON record (integration_status, provider_mode, model, endpoint,
    validated_at, notes, request_id; on failure error_code, http_status and
    recommended_action) and exits with the chat exit codes: 0 passed, 3 key, 4 balance,
    5 rate limit, 6 gateway or network, 1 reply off-contract. The API key is read from
    the provider's environment variable and never printed; with none set the check runs
    on the built-in offline simulator and says so (provider_mode offline-simulator).

    \b
    Examples:
      alltoken-agent check
      TOKENHUB_API_KEY=... alltoken-agent check --provider tokenhub -o record.json
      alltoken-agent check --base-url http://localhost:11434/v1 -m llama3.2 --json
    """
    writer = EventWriter(enabled=False)
    if media:
        print(f"alltoken-agent: {MEDIA_UNAVAILABLE}", file=sys.stderr)
        raise typer.Exit(USAGE)
    options = GatewayOptions(provider=provider, base_url=base_url, model=model, offline=offline)
    code: list[int] = [OK]

    async def main() -> None:
        code[0] = await _check(options, output, json_output=json_output)

    run_command(main, writer)
    if code[0] != OK:
        raise typer.Exit(code[0])


async def _check(options: GatewayOptions, output: Path | None, *, json_output: bool) -> int:
    def on_retry(notice: RetryNotice) -> None:
        if not json_output:
            print_retry(notice)

    async with open_gateway(options, on_retry=on_retry) as gateway:
        if not gateway.model:
            raise UserError(
                f"no model chosen for provider {gateway.provider.name!r}: pass --model "
                "or set `model` in the config file"
            )
        record, exit_code = await run_check(gateway, gateway.model, on_retry=on_retry)
    _deliver(record, output, json_output=json_output)
    return exit_code


async def run_check(
    gateway: Gateway,
    model: str,
    *,
    on_retry: Callable[[RetryNotice], None] | None = None,
) -> tuple[dict[str, Any], int]:
    """Run the check against ``gateway`` and return the record and the exit code."""
    mode = "offline-simulator" if gateway.offline_simulator is not None else "online"
    record: dict[str, Any] = {
        "integration_status": "failed",
        "provider": gateway.provider.name,
        "provider_mode": mode,
        "model": model,
        "endpoint": gateway.redact(gateway.base_url),
        "validated_at": None,
        "request_id": None,
        "notes": [],
    }
    notes: list[str] = record["notes"]
    if mode == "offline-simulator":
        notes.append(
            "no API key is set for this provider: the built-in offline simulator answered, "
            "not the real gateway"
        )
    client = gateway.async_openai_client().with_options(max_retries=0)
    started = time.monotonic()
    try:
        response, attempts = await _send(client, gateway, model, on_retry)
        data = _validate(response)
    except (GatewayError, _ContractError) as error:
        record.update(_failure(error, model), validated_at=_now(), request_id=error.request_id)
        notes.append(gateway.redact(str(error)))
        return record, FAILURE if isinstance(error, _ContractError) else exit_code_for(error)
    finally:
        await client.close()
    content = data["choices"][0]["message"]["content"]
    record["integration_status"] = "passed"
    record["validated_at"] = _now()
    record["request_id"] = _request_id(data, response.headers) or data.get("id")
    notes += [
        f"HTTP {response.status_code}, object {data['object']}, {len(data['choices'])} choice(s)",
        gateway.redact(f"reply: {_clip(str(content))}"),
        f"{attempts} attempt(s), {round((time.monotonic() - started) * 1000)} ms",
    ]
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


def _gateway_error(exc: openai.APIError, gateway: Gateway) -> GatewayError:
    """Our error for an SDK failure, so retries, codes and exit codes match `chat`."""
    import openai

    redact = gateway.redact
    if isinstance(exc, openai.APITimeoutError):
        return GatewayTimeoutError(redact(f"no answer from {gateway.base_url} in time"))
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        reason = str(cause) if cause is not None and str(cause) else exc.message
        return GatewayConnectionError(redact(f"cannot reach {gateway.base_url}: {reason}"))
    if not isinstance(exc, openai.APIStatusError):
        return GatewayError(redact(exc.message))
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
    """What to do about a failed check (gateway-api.md §2.5)."""
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


def _deliver(record: dict[str, Any], output: Path | None, *, json_output: bool) -> None:
    if output is not None:
        try:
            _write_atomically(output, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            raise UserError(f"cannot write the record to {output}: {exc.strerror or exc}") from None
    if json_output:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif output is None:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    if not json_output:
        print(_summary(record, output), file=sys.stderr)


def _summary(record: dict[str, Any], output: Path | None) -> str:
    where = f"; record written to {output}" if output is not None else ""
    head = (
        f"alltoken-agent: integration check {record['integration_status']}: "
        f"{record['provider']} ({record['provider_mode']}), model {record['model']}"
    )
    if record["integration_status"] == "passed":
        return f"{head}, request_id {record['request_id']}{where}"
    status = record.get("http_status")
    code = f"{record['error_code']}" + (f" (HTTP {status})" if status is not None else "")
    return f"{head}: {code}; {record['recommended_action']}{where}"


def _write_atomically(path: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
