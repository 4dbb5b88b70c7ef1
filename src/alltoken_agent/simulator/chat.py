"""`POST /v1/chat/completions`: validate the request, plan, and answer (JSON or SSE)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NoReturn

from starlette.responses import JSONResponse, Response, StreamingResponse

from alltoken_agent.simulator.catalog import resolve_model
from alltoken_agent.simulator.chunks import (
    build_emission,
    completion_body,
    count_prompt_tokens,
)
from alltoken_agent.simulator.echo import echo_reply
from alltoken_agent.simulator.envelope import error_response
from alltoken_agent.simulator.faults import mark_usage, plain_body_fault, splice_raw
from alltoken_agent.simulator.pipeline import RequestContext
from alltoken_agent.simulator.script import Turn, plan_reply
from alltoken_agent.simulator.sse import stream_body, stream_events
from alltoken_agent.simulator.surrogate import spell, surrogate_reply
from alltoken_agent.simulator.validation import REJECTIONS, Rejection

ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool"})
TOOL_CHOICES: Final = frozenset({"auto", "none", "required"})
FORMATS: Final = frozenset({"text", "json_object", "json_schema"})


class InvalidRequestError(ValueError):
    """A request field is missing or of the wrong type."""

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param


def _check(ok: bool, param: str | None, message: str) -> None:
    if not ok:
        raise InvalidRequestError(param, message)


def _one_of(value: Any, options: frozenset[str]) -> bool:
    return isinstance(value, str) and value in options


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _validate_messages(messages: Any) -> None:
    _check(
        isinstance(messages, list) and bool(messages),
        "messages",
        "messages must be a non-empty array",
    )
    # Each message is looked at without building its error texts: a long session's
    # request has thousands, and only a broken one needs them (_message_error).
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            _message_error(i, "", "must be an object")
        role = message.get("role")
        if not (isinstance(role, str) and role in ROLES):
            _message_error(i, ".role", f"must be one of {sorted(ROLES)}")
        content = message.get("content")
        if not (isinstance(content, (str, list)) or (content is None and role == "assistant")):
            _message_error(i, ".content", "must be a string or an array of parts")
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            _message_error(i, ".tool_call_id", "tool messages need tool_call_id", alone=True)
        calls = message.get("tool_calls")
        if not (calls is None or isinstance(calls, list)):
            _message_error(i, ".tool_calls", "tool_calls must be an array", alone=True)


def _message_error(index: int, field: str, problem: str, *, alone: bool = False) -> NoReturn:
    """Refuse ``messages[index]``'s ``field``: "messages[i]<field> <problem>", or ``problem``."""
    where = f"messages[{index}]{field}"
    raise InvalidRequestError(where, problem if alone else f"{where} {problem}")


def _validate_tools(body: Mapping[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    _check(tools is None or isinstance(tools, list), "tools", "tools must be an array")
    offered: dict[str, Any] = {}
    for i, tool in enumerate(tools or []):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        if not (isinstance(function, Mapping) and isinstance(name, str) and name):
            raise InvalidRequestError(f"tools[{i}].function.name", "each tool needs function.name")
        offered[name] = function.get("parameters")
    choice = body.get("tool_choice")
    forced = choice.get("function") if isinstance(choice, Mapping) else None
    named = isinstance(forced, Mapping) and isinstance(forced.get("name"), str)
    _check(
        choice is None or _one_of(choice, TOOL_CHOICES) or named,
        "tool_choice",
        "tool_choice must be auto, none, required or {type: function, function: {name}}",
    )
    return offered


def _validate(body: Any) -> tuple[bool, bool]:
    """Validate the request body; return (thinking, include_usage)."""
    _check(isinstance(body, Mapping), None, "the request body must be a JSON object")
    _check(
        isinstance(body.get("model"), str) and bool(body.get("model")),
        "model",
        "model is required (a string)",
    )
    _validate_messages(body.get("messages"))
    _check(isinstance(body.get("stream", False), bool), "stream", "stream must be a boolean")
    options = body.get("stream_options")
    _check(
        options is None or isinstance(options, Mapping),
        "stream_options",
        "stream_options must be an object",
    )
    max_tokens = body.get("max_tokens")
    _check(
        max_tokens is None or (_is_int(max_tokens) and max_tokens >= 1),
        "max_tokens",
        "max_tokens must be an integer >= 1",
    )
    temperature = body.get("temperature")
    _check(
        temperature is None or (_is_number(temperature) and 0 <= temperature <= 2),
        "temperature",
        "temperature must be a number from 0 to 2",
    )
    stop = body.get("stop")
    _check(
        stop is None
        or isinstance(stop, str)
        or (isinstance(stop, list) and all(isinstance(s, str) for s in stop)),
        "stop",
        "stop must be a string or an array of strings",
    )
    fmt = body.get("response_format")
    _check(
        fmt is None or (isinstance(fmt, Mapping) and _one_of(fmt.get("type"), FORMATS)),
        "response_format",
        "response_format.type must be text, json_object or json_schema",
    )
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        block = fmt.get("json_schema")
        _check(
            isinstance(block, Mapping) and isinstance(block.get("schema", {}), Mapping),
            "response_format",
            "json_schema needs {name, schema}",
        )
    search = body.get("enable_search")
    _check(
        search is None or isinstance(search, bool),
        "enable_search",
        "enable_search must be a boolean",
    )
    thinking = body.get("thinking")
    # §3 row 4: accept both `true/false` and `{"type": "enabled"|"disabled"}`.
    as_object = isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "disabled")
    _check(
        thinking is None or isinstance(thinking, bool) or as_object,
        "thinking",
        "thinking must be a boolean or {type: enabled|disabled}",
    )
    on = thinking is True or (isinstance(thinking, Mapping) and thinking.get("type") == "enabled")
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    return on, include_usage


async def chat_completions(body: Any, ctx: RequestContext) -> Response:
    """Answer one chat completion request.

    Args:
        body: The parsed JSON body (anything; it is validated here).
        ctx: Request facts from the app pipeline.

    Returns:
        The response: JSON, SSE, an error envelope, or a dropped connection.
    """
    try:
        thinking, include_usage = _validate(body)
        tools = _validate_tools(body)
    except InvalidRequestError as exc:
        message = f"{exc} (simulated gateway)."
        REJECTIONS.record(
            Rejection("POST", "/v1/chat/completions", exc.param, message, ctx.request_id)
        )
        return error_response(
            400, "invalid_request", message, request_id=ctx.request_id, param=exc.param
        )
    requested = str(body["model"])
    model = resolve_model(requested, ctx.dialect)
    if model is None:
        message = f"Model {requested!r} is not available. List models with GET /v1/models."
        return error_response(
            404, "upstream_model_not_found", message, request_id=ctx.request_id, param="model"
        )
    if not model.is_chat:
        # invented: no source says how chat answers a media model id.
        message = f"Model {requested!r} is a {model.modality} model; it cannot chat."
        return error_response(
            400, "invalid_request", message, request_id=ctx.request_id, param="model"
        )
    # §1.11 applies to AllToken; TokenHub documents no enable_search, so it is ignored.
    search = model.search if ctx.dialect == "alltoken" and body.get("enable_search") else "ignore"
    if search == "fail":
        message = (
            "All providers failed for this request (web search, simulated). "
            "Retry without enable_search."
        )
        return error_response(503, "all_providers_failed", message, request_id=ctx.request_id)
    turn = Turn(
        model=requested,
        messages=body["messages"],
        tools=tools,
        tool_choice=body.get("tool_choice"),
        response_format=body.get("response_format"),
        thinking=thinking and model.reasoning,
        search=search,
    )
    stop = body.get("stop") or []
    emission = build_emission(
        plan_reply(turn),
        prompt_tokens=count_prompt_tokens(body["messages"], body.get("tools")),
        request_id=ctx.request_id,
        max_tokens=body.get("max_tokens"),
        stop=[stop] if isinstance(stop, str) else stop,
    )
    if ctx.echo:
        emission = echo_reply(emission, ctx.echo)
    fault = ctx.fault
    surrogates = fault is not None and fault.kind == "lone_surrogate"
    if surrogates:
        emission = surrogate_reply(emission)
    if body.get("stream", False):
        events, trailing = stream_events(
            emission,
            dialect=ctx.dialect,
            model=requested,
            catalog_model=model,
            request_id=ctx.request_id,
            created=ctx.created,
            include_usage=include_usage,
            fault=fault,
        )
        if surrogates:
            events = [spell(event) for event in events]
        stream = stream_body(
            events, trailing, fault=fault, chunk_delay=ctx.chunk_delay, scope=ctx.scope
        )
        return StreamingResponse(
            stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    replacement = await plain_body_fault(fault)
    if replacement is not None:
        return replacement
    body_out = completion_body(
        emission,
        dialect=ctx.dialect,
        model=requested,
        request_id=ctx.request_id,
        created=ctx.created,
    )
    if fault is not None and fault.kind == "bad_usage" and fault.field and fault.value:
        mark_usage(body_out["usage"], fault.field)
        raw = splice_raw(body_out, fault.value)
        return Response(raw.encode(), media_type="application/json")
    if surrogates:
        return Response(spell(bytes(JSONResponse(body_out).body)), media_type="application/json")
    return JSONResponse(body_out)
