"""`alltoken-agent chat`: one prompt in, a streamed reply out."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from alltoken_agent import (
    ChatResult,
    ContentDelta,
    CostEvent,
    FinishEvent,
    GatewayError,
    ReasoningDelta,
    RetryNotice,
    UsageEvent,
    UserError,
)
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    JsonOpt,
    ModelOpt,
    OfflineOpt,
    ProviderOpt,
    open_gateway,
    print_retry,
)
from alltoken_agent.cli.output import EventWriter, run_command


def chat(
    prompt: Annotated[
        str | None,
        typer.Argument(
            help="The message to send; read from stdin when omitted.", show_default=False
        ),
    ] = None,
    model: ModelOpt = None,
    system: Annotated[
        str | None,
        typer.Option("--system", "-s", help="System prompt.", show_default=False),
    ] = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    temperature: Annotated[
        float | None,
        typer.Option(min=0.0, max=2.0, help="Sampling temperature, 0 to 2.", show_default=False),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", min=1, help="Cap on reply tokens.", show_default=False),
    ] = None,
    search: Annotated[
        bool, typer.Option("--search", help="Ask the gateway to search the web (enable_search).")
    ] = False,
    thinking: Annotated[
        bool,
        typer.Option("--thinking", help="Ask for the model's reasoning; streamed to stderr."),
    ] = False,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Send one message and stream the reply to stdout.

    With no API key set for the provider, it runs on the built-in offline
    simulator and says so on stderr.

    \b
    Examples:
      alltoken-agent chat "Explain SSE in one sentence"
      echo "Summarise this" | alltoken-agent chat -m deepseek-v4-flash --json
      alltoken-agent chat --provider tokenhub --thinking "Why is the sky blue?"
    """
    options = GatewayOptions(provider=provider, base_url=base_url, model=model, offline=offline)
    fields: dict[str, Any] = {}
    if temperature is not None:
        fields["temperature"] = temperature
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    if search:
        fields["enable_search"] = True
    if thinking:
        fields["thinking"] = True
    writer = EventWriter(enabled=json_output)
    run_command(
        lambda: _chat(prompt, system, options, fields, writer),
        writer,
    )


def read_prompt(prompt: str | None) -> str:
    """The prompt from the argument, or from stdin when it is piped."""
    if prompt is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise UserError("no prompt: pass PROMPT or pipe text on stdin")
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise UserError("the prompt is empty")
    return prompt


async def _chat(
    prompt: str | None,
    system: str | None,
    options: GatewayOptions,
    fields: dict[str, Any],
    writer: EventWriter,
) -> None:
    text = read_prompt(prompt)
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": text})

    def on_retry(notice: RetryNotice) -> None:
        if writer.enabled:
            writer.emit(
                "retry",
                attempt=notice.attempt,
                delay=round(notice.delay, 3),
                code=notice.error.code,
                status=notice.error.status,
            )
        else:
            print_retry(notice)

    async with open_gateway(options, on_retry=on_retry) as gateway:
        writer.emit("message:user", content=text)
        stream = gateway.stream(messages, **fields)
        try:
            async with stream:
                writer.emit(
                    "stream:start",
                    provider=gateway.provider.name,
                    model=gateway.model,
                    request_id=stream.request_id,
                )
                await _print_events(stream, writer)
        except GatewayError as error:
            error.request_id = error.request_id or stream.request_id
            raise
        result = stream.result
        writer.emit("stream:end", finish_reason=result.finish_reason)
        _finish(result, writer)


async def _print_events(stream: Any, writer: EventWriter) -> None:
    out = sys.stdout
    err = sys.stderr
    in_reasoning = False
    ends_with_newline = True
    async for event in stream:
        if isinstance(event, ContentDelta):
            if writer.enabled:
                writer.emit("stream:delta", delta=event.text)
                continue
            if in_reasoning:
                err.write("\n")
                err.flush()
                in_reasoning = False
            out.write(event.text)
            out.flush()
            ends_with_newline = event.text.endswith("\n")
        elif isinstance(event, ReasoningDelta):
            if writer.enabled:
                writer.emit("reasoning:delta", delta=event.text)
                continue
            err.write(event.text)
            err.flush()
            in_reasoning = True
        elif isinstance(event, UsageEvent):
            writer.emit("usage", **event.usage.to_dict())
        elif isinstance(event, CostEvent):
            writer.emit("cost", **event.cost.to_dict())
        elif isinstance(event, FinishEvent) and not writer.enabled and not ends_with_newline:
            out.write("\n")
            out.flush()
            ends_with_newline = True
    if not writer.enabled and not ends_with_newline:
        out.write("\n")
        out.flush()


def _finish(result: ChatResult, writer: EventWriter) -> None:
    usage = result.usage.to_dict() if result.usage else None
    cost = result.cost.to_dict() if result.cost else None
    message: dict[str, Any] = {"content": result.text}
    if result.reasoning:
        message["reasoning"] = result.reasoning
    writer.emit("message:assistant", **message)
    writer.emit(
        "done",
        text=result.text,
        model=result.model,
        finish_reason=result.finish_reason,
        usage=usage,
        cost=cost,
        request_id=result.request_id,
    )
    if result.finish_reason == "length" and not writer.enabled:
        print("alltoken-agent: the reply was cut off at --max-tokens", file=sys.stderr)
