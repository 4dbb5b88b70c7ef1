"""`alltoken-agent probe`: what works on an OpenAI-compatible endpoint, with no config.

Two requests: ``GET /models``, then one small streaming chat request that offers a
tool. The report says, per feature, ``ok``, ``missing`` (the endpoint answered without
it), ``failed`` or ``skipped`` (an earlier step failed), with a detail.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from alltoken_agent import GatewayError, NotFoundError, UserError
from alltoken_agent.cli.options import JsonOpt, ModelOpt, OfflineOpt, ProviderOpt, load_user_config
from alltoken_agent.cli.output import EventWriter, run_command
from alltoken_agent.cli.terminal import Align, render_table
from alltoken_agent.money import price_text

if TYPE_CHECKING:  # the gateway is imported when the command runs
    from alltoken_agent import Config, Gateway, Provider
    from alltoken_agent.gateway import ChatResult, ModelInfo

Status = Literal["ok", "missing", "failed", "skipped"]
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
PROBE_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_current_time",
        "description": "Get the current time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {
                "timezone": {"type": "string", "description": "IANA zone, e.g. Asia/Tokyo"}
            },
            "required": ["timezone"],
        },
    },
}
PROBE_PROMPT = "What time is it in Tokyo right now? Call the get_current_time tool to find out."
_MEDIA_WORDS = ("image", "video", "embed", "tts", "whisper", "audio", "rerank")


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: Status
    detail: str


def probe(
    base_url: Annotated[
        str | None,
        typer.Argument(
            metavar="BASE_URL",
            help="OpenAI-compatible base URL, e.g. http://localhost:11434/v1. Default: "
            "the --provider's.",
            show_default=False,
        ),
    ] = None,
    model: ModelOpt = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            help="Environment variable holding the key. Default: the variable of the "
            f"provider whose base URL BASE_URL is (else {DEFAULT_KEY_ENV}, else no key), "
            "the provider's variable for --provider.",
            show_default=False,
        ),
    ] = None,
    thinking: Annotated[
        bool, typer.Option("--thinking", help="Also ask for reasoning (thinking: true).")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each answer.")
    ] = 30.0,
    provider: ProviderOpt = None,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Check what an OpenAI-compatible endpoint supports: models, streaming, tools, usage.

    Sends GET /models and one tiny streaming request offering a tool, then reports each
    feature as ok, missing or failed: model list, streaming, assembled tool calls, the
    usage chunk, AllToken's cost comment, reasoning deltas, a request id, and timing.
    Exits 0 when the endpoint answered at all (3: the key was refused, 6: unreachable).
    The key is never printed.

    \b
    Examples:
      alltoken-agent probe http://localhost:11434/v1 --model llama3.2
      alltoken-agent probe https://api.example.com/v1 --api-key-env EXAMPLE_KEY --json
      alltoken-agent probe --provider alltoken --thinking
      alltoken-agent probe --offline
    """
    writer = EventWriter(enabled=json_output)
    run_command(
        lambda: _probe(base_url, model, api_key_env, thinking, timeout, provider, offline, writer),
        writer,
    )


async def _probe(
    base_url: str | None,
    model: str | None,
    key_env: str | None,
    thinking: bool,
    timeout: float,
    provider: str | None,
    offline: bool,
    writer: EventWriter,
) -> None:
    gateway = _open(base_url, key_env, timeout, provider, offline)
    async with gateway:
        checks, listed, list_error = await _check_models(gateway)
        chosen = model or gateway.model or _pick_chat_model(listed)
        if chosen is None:
            checks.append(Check("streaming", "skipped", "no model to try: pass --model"))
            report, stream_error = checks, None
        else:
            report, stream_error = await _check_chat(gateway, chosen, thinking, checks)
        _print(report, gateway.redact(gateway.base_url), chosen, writer)
    if not any(c.status == "ok" for c in report):
        error = stream_error or list_error
        if error is not None:
            raise error


def _open(
    base_url: str | None, key_env: str | None, timeout: float, provider: str | None, offline: bool
) -> Gateway:
    from alltoken_agent import Gateway, Provider, RetryPolicy
    from alltoken_agent.gateway import get_provider

    config = load_user_config()
    # One try per request: a probe reports what happens, retries would hide it.
    retry = RetryPolicy(max_retries=0)
    settings: dict[str, Any] = {"config": config, "timeout": timeout, "retry": retry}
    if offline:
        return Gateway.offline(provider or "alltoken", **settings)
    if base_url:
        owner = _provider_at(base_url, config)
        if owner is not None:  # a known provider's URL: its key variable and its dialect
            profile = replace(owner, base_url=base_url.rstrip("/"), requires_key=False)
        else:
            profile = Provider(
                name="probe",
                base_url=base_url.rstrip("/"),
                api_key_env=None,
                dialect="openai",
                requires_key=False,
            )
        # A known provider's own variable only: another service's key is never sent to it.
        key = _key(key_env, fallback=owner.api_key_env if owner else DEFAULT_KEY_ENV)
    else:
        profile = replace(get_provider(provider or "alltoken", config), requires_key=False)
        if not profile.base_url:
            raise UserError(f"provider {profile.name!r} has no base URL: pass BASE_URL")
        key = _key(key_env, fallback=profile.api_key_env)
    return Gateway(profile, api_key=key, **settings)


def _provider_at(base_url: str, config: Config) -> Provider | None:
    """The built-in or configured provider whose base URL this is, if any."""
    from alltoken_agent.gateway import get_provider
    from alltoken_agent.gateway.providers import provider_names

    wanted = _same_url(base_url)
    for name in provider_names(config):
        profile = get_provider(name, config)
        if profile.base_url and _same_url(profile.base_url) == wanted:
            return profile
    return None


def _same_url(url: str) -> str:
    # Scheme and host are case-insensitive; a trailing slash changes nothing.
    scheme, _, rest = url.strip().rstrip("/").partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def _key(variable: str | None, *, fallback: str | None) -> str | None:
    if variable is not None:
        value = os.environ.get(variable)
        if not value:
            raise UserError(f"--api-key-env {variable}: that environment variable is not set")
        return value
    if fallback is None:
        return None
    return os.environ.get(fallback) or None


async def _check_models(
    gateway: Gateway,
) -> tuple[list[Check], list[ModelInfo], GatewayError | None]:
    from alltoken_agent.catalog import Catalog

    try:
        listed = await Catalog(gateway, use_cache=False).models()
    except NotFoundError as error:
        return [Check("models", "missing", f"no GET /models ({error})")], [], error
    except GatewayError as error:
        return [Check("models", "failed", str(error))], [], error
    sample = ", ".join(m.id for m in listed[:3]) + (", ..." if len(listed) > 3 else "")
    detail = f"{len(listed)} models" + (f": {sample}" if listed else "")
    return [Check("models", "ok" if listed else "missing", detail)], listed, None


def _pick_chat_model(models: list[ModelInfo]) -> str | None:
    chat = [m for m in models if m.modality in ("text", "vision")]
    unknown = [
        m
        for m in models
        if m.modality is None and not any(word in m.id.lower() for word in _MEDIA_WORDS)
    ]
    candidates = chat or unknown
    return candidates[0].id if candidates else None


async def _check_chat(
    gateway: Gateway, model: str, thinking: bool, checks: list[Check]
) -> tuple[list[Check], GatewayError | None]:
    fields: dict[str, Any] = {"tools": [PROBE_TOOL], "tool_choice": "auto"}
    if thinking:
        fields["thinking"] = True
    counts: dict[str, int] = {}
    started = time.monotonic()
    first: float | None = None
    try:
        async with gateway.stream(
            [{"role": "user", "content": PROBE_PROMPT}], model=model, **fields
        ) as stream:
            async for event in stream:
                counts[event.kind] = counts.get(event.kind, 0) + 1
                if first is None and event.kind in ("content", "reasoning", "tool_call"):
                    first = time.monotonic()
            result = stream.result
    except GatewayError as error:
        checks.append(Check("streaming", "failed", str(error)))
        for name in ("tool_calls", "usage", "cost_comment", "reasoning", "request_id"):
            checks.append(Check(name, "skipped", "no reply to inspect"))
        return checks, error
    ended = time.monotonic()
    total = sum(counts.values())
    checks.append(
        Check("streaming", "ok", f"{total} events, finish_reason {result.finish_reason or '-'}")
    )
    checks += [
        _tool_check(result, counts.get("tool_call", 0)),
        _usage_check(result),
        _cost_check(result),
        _reasoning_check(result, counts.get("reasoning", 0), thinking),
        Check("request_id", "ok", result.request_id)
        if result.request_id
        else Check(
            "request_id",
            "missing",
            "no x-gateway-request-id in body or headers"
            + (f" (response id {result.response_id})" if result.response_id else ""),
        ),
        Check(
            "timing",
            "ok",
            ("" if first is None else f"first token {first - started:.2f} s, ")
            + f"total {ended - started:.2f} s",
        ),
    ]
    return checks, None


def _tool_check(result: ChatResult, fragments: int) -> Check:
    if not result.tool_calls:
        said = " ".join(result.text.split())[:60]
        return Check("tool_calls", "missing", f"answered in text instead: {said!r}")
    call = result.tool_calls[0]
    try:
        json.loads(call.arguments)
    except ValueError:
        detail = f"{call.name}: arguments are not JSON: {call.arguments}"
        return Check("tool_calls", "failed", detail)
    return Check(
        "tool_calls", "ok", f"{call.name}({call.arguments}) assembled from {fragments} fragments"
    )


def _usage_check(result: ChatResult) -> Check:
    usage = result.usage
    if usage is None:
        return Check("usage", "missing", "no usage chunk (stream_options.include_usage)")
    return Check(
        "usage", "ok", f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens"
    )


def _cost_check(result: ChatResult) -> Check:
    cost = result.cost
    if cost is None:
        return Check("cost_comment", "missing", "no SSE cost comment after [DONE] (AllToken's)")
    prices = (
        f" (input / output {price_text(cost.input_price, cost.output_price)} tokens)"
        if cost.input_price is not None and cost.output_price is not None
        else ""
    )
    return Check("cost_comment", "ok", f"{cost.amount} USD{prices}")


def _reasoning_check(result: ChatResult, deltas: int, asked: bool) -> Check:
    if not result.reasoning:
        hint = "" if asked else " (try --thinking)"
        return Check("reasoning", "missing", f"no reasoning deltas{hint}")
    return Check("reasoning", "ok", f"{len(result.reasoning)} characters in {deltas} deltas")


def _print(checks: list[Check], url: str, model: str | None, writer: EventWriter) -> None:
    if writer.enabled:
        for check in checks:
            writer.emit("check", name=check.name, status=check.status, detail=check.detail)
        writer.emit(
            "probe",
            base_url=url,
            model=model,
            answered=any(c.status == "ok" for c in checks),
            ok=[c.name for c in checks if c.status == "ok"],
        )
        return
    columns: list[tuple[str, Align]] = [("CHECK", "left"), ("STATUS", "left"), ("DETAIL", "left")]
    rows = [[c.name, c.status, c.detail] for c in checks]
    render_table(columns, rows, title=f"probe {url} (model {model or '-'})")
