"""The scripted model: decide, deterministically, what the simulated model answers.

Decision order, looking at the last messages of the conversation:

1. Directives (`directives.py`) in the user messages of the current turn (everything
   after the last assistant message without tool calls), when the request offers
   tools and `tool_choice` is not `"none"`: issue the next `[[call ...]]` round; after the
   last round, answer in text. `[[reply TEXT]]` fixes the final text even without tools.
2. Otherwise, if the last message is a tool result (or only user messages follow one
   in the turn, as OpenClaw sends them): a text answer quoting every result of the
   last round verbatim.
3. Otherwise, with tools offered and no directive at all: a time question and a tool
   named like `*time*` gives a call with `{"timezone": ...}`; a calculation and a
   `*calc*` tool gives a call with `{"expression": ...}`; a forced `tool_choice` calls
   the forced (or first) tool.
4. Otherwise a text reply labelled as simulated.

The final text is replaced by a schema-valid JSON document for `response_format`
`json_schema` (`json_object`: a small object), and decorated per the web-search matrix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from alltoken_agent.simulator.catalog import SearchBehaviour
from alltoken_agent.simulator.directives import Directives, PlannedCall, parse_directives
from alltoken_agent.simulator.schema_instance import minimal_instance
from alltoken_agent.simulator.vision import seen_images

CITY_ZONES: Final[tuple[tuple[str, str], ...]] = (
    ("tokyo", "Asia/Tokyo"),
    ("london", "Europe/London"),
    ("paris", "Europe/Paris"),
    ("berlin", "Europe/Berlin"),
    ("new york", "America/New_York"),
    ("sydney", "Australia/Sydney"),
)
"""Cities the time heuristic knows; anything else gets `UTC`."""

SEARCH_REFUSAL: Final = "I can't search the web right now. (simulated)"
"""Reply of gemini-family models to `enable_search: true` (§1.11: refusal)."""

_EXPRESSION: Final = re.compile(r"-?[\d(][\d\s.+\-*/%^()]*[\d)]")
_OPERATOR: Final = re.compile(r"[\d)]\s*[+\-*/%^]\s*-?[\d(]")


@dataclass(frozen=True)
class Turn:
    """What the scripted model looks at (already validated by `chat.py`)."""

    model: str
    """Model id as requested (used in the reply label)."""
    messages: Sequence[Mapping[str, Any]]
    """The request messages."""
    tools: Mapping[str, Any] = field(default_factory=dict)
    """Offered tools: name -> `parameters` schema (or None)."""
    tool_choice: Any = None
    """The request's `tool_choice` (None when absent)."""
    response_format: Mapping[str, Any] | None = None
    """The request's `response_format`."""
    thinking: bool = False
    """Whether to produce reasoning text (thinking on and a reasoning model)."""
    search: SearchBehaviour = "ignore"
    """Effect of `enable_search` (`ignore` when off or not honoured by the dialect)."""


@dataclass(frozen=True)
class Plan:
    """The scripted answer: reasoning, then text or tool calls."""

    text: str | None
    """Answer text, or None when the answer is tool calls only."""
    calls: tuple[PlannedCall, ...] = ()
    """Tool calls, in slot order."""
    reasoning: str = ""
    """Reasoning text streamed before the answer ("" for none)."""


def message_text(message: Mapping[str, Any]) -> str:
    """Return the text of a message (string content or the text parts of a list)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, Mapping)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def plan_reply(turn: Turn) -> Plan:
    """Decide the simulated model's answer for one request.

    Args:
        turn: The validated request.

    Returns:
        The plan the chunk renderer turns into a response.
    """
    messages = turn.messages
    user_index = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    directives = parse_directives(_user_turn_text(messages, user_index))
    prompt = directives.prompt
    answered = _answered(messages, user_index)
    last_role = messages[answered].get("role")
    tools_on = bool(turn.tools) and turn.tool_choice != "none"

    calls: tuple[PlannedCall, ...] = ()
    text: str | None = None
    if tools_on and directives.rounds and last_role in ("user", "tool"):
        start = _turn_start(messages, user_index)
        done = sum(1 for m in messages[start:] if _has_tool_calls(m))
        if done < len(directives.rounds):
            calls = directives.rounds[done]
    if not calls and last_role == "tool":
        text = _quote_tool_results(messages[: answered + 1])
    elif not calls and last_role == "user" and tools_on and not _scripted(directives):
        calls = _heuristic_calls(turn, prompt)
    if not calls and text is None:
        seen = seen_images(messages[user_index]) if user_index >= 0 else ""
        text = default_text(turn.model, prompt, seen)
    if not calls:
        text = _final_text(turn, text or "", directives.reply, prompt)
    reasoning = _reasoning(prompt, calls) if turn.thinking else ""
    return Plan(text=None if calls else text, calls=calls, reasoning=reasoning)


def _turn_start(messages: Sequence[Mapping[str, Any]], last_user: int) -> int:
    # The turn runs from the last final answer (an assistant message without tool
    # calls) before the last user message: its tool rounds and user messages belong
    # together, wherever a runtime puts its own user messages among them.
    index = last_user
    while index >= 0 and not _final_answer(messages[index]):
        index -= 1
    return index + 1


def _answered(messages: Sequence[Mapping[str, Any]], last_user: int) -> int:
    # The message the reply answers: the last one, unless user messages follow a tool
    # result of the same turn. OpenClaw re-sends its context as a user message after
    # the tool results; a model still answers the results, not that context.
    last = len(messages) - 1
    index = last
    start = _turn_start(messages, last_user)
    while index > start and messages[index].get("role") == "user":
        index -= 1
    return index if index < last and messages[index].get("role") == "tool" else last


def _user_turn_text(messages: Sequence[Mapping[str, Any]], last_user: int) -> str:
    # Every user message of the turn: runtimes such as OpenClaw add user messages of
    # their own before and after the person's, and directives may be in any of them.
    start = _turn_start(messages, last_user)
    users = [m for m in messages[start : last_user + 1] if m.get("role") == "user"]
    return "\n".join(message_text(m) for m in users)


def _final_answer(message: Mapping[str, Any]) -> bool:
    return message.get("role") == "assistant" and not message.get("tool_calls")


def default_text(model: str, prompt: str, seen: str = "") -> str:
    """Return the labelled default reply (rule 4); ``seen`` describes the images sent."""
    said = prompt[:60] or "(nothing)"
    stop = "" if said.endswith((".", "?", "!")) else "."
    images = f" {seen}" if seen else ""
    return (
        f"[simulated {model}] You said: {said}{stop}{images} This reply comes from the "
        "offline alltoken-agent simulator; it is deterministic and no real model was called."
    )


def _scripted(directives: Directives) -> bool:
    return bool(directives.rounds) or directives.reply is not None


def _has_tool_calls(message: Mapping[str, Any]) -> bool:
    return message.get("role") == "assistant" and bool(message.get("tool_calls"))


def _quote_tool_results(messages: Sequence[Mapping[str, Any]]) -> str:
    names: dict[str, str] = {}
    for message in messages:
        if not _has_tool_calls(message):
            continue
        for call in message["tool_calls"]:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                names[str(call.get("id"))] = str(function.get("name", "unknown_tool"))
    results: list[Mapping[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, message)
    return " ".join(
        f"(simulated) {names.get(str(m.get('tool_call_id')), 'unknown_tool')} returned: "
        f"{_result_text(message_text(m))}."
        for m in results
    )


def _result_text(text: str) -> str:
    # A tool result that is a JSON object is read field by field, as a model would read
    # it: `{"expression": "6*7", "result": 42}` -> "expression=6*7, result=42".
    if not text.startswith("{"):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if not isinstance(value, dict):
        return text
    return ", ".join(f"{key}={item}" for key, item in value.items())


def _tool_named(turn: Turn, fragment: str) -> str | None:
    return next((name for name in turn.tools if fragment in name.lower()), None)


def _heuristic_calls(turn: Turn, prompt: str) -> tuple[PlannedCall, ...]:
    lowered = prompt.lower()
    call: PlannedCall | None = None
    time_tool = _tool_named(turn, "time")
    if time_tool and re.search(r"\btime\b", lowered):
        zone = next((z for city, z in CITY_ZONES if city in lowered), "UTC")
        call = PlannedCall(time_tool, json.dumps({"timezone": zone}))
    calc_tool = _tool_named(turn, "calc")
    expression = _expression(prompt)
    if call is None and calc_tool and expression:
        call = PlannedCall(calc_tool, json.dumps({"expression": expression}))
    forced = turn.tool_choice
    if isinstance(forced, Mapping):
        name = str((forced.get("function") or {}).get("name", ""))
        if call is None or call.name != name:
            call = PlannedCall(name, json.dumps(_minimal_args(turn.tools.get(name))))
    elif forced == "required" and call is None:
        name = next(iter(turn.tools))
        call = PlannedCall(name, json.dumps(_minimal_args(turn.tools[name])))
    return (call,) if call else ()


def _minimal_args(parameters: Any) -> Any:
    return minimal_instance(parameters) if isinstance(parameters, Mapping) else {}


def _expression(prompt: str) -> str | None:
    candidates = [m.group().strip() for m in _EXPRESSION.finditer(prompt)]
    with_operator = [c for c in candidates if _OPERATOR.search(c)]
    if with_operator:
        return max(with_operator, key=len)
    keyword = re.search(r"\b(?:calculate|compute)\b\s*(.*)", prompt, re.IGNORECASE)
    if keyword:
        return keyword.group(1).strip(" ?.!:") or None
    return None


def _final_text(turn: Turn, base: str, reply: str | None, prompt: str) -> str:
    if reply is not None:
        return reply
    response_format = turn.response_format or {}
    kind = response_format.get("type")
    if kind == "json_schema":
        block = response_format.get("json_schema") or {}
        return json.dumps(minimal_instance(block.get("schema", {})))
    if kind == "json_object":
        return json.dumps({"simulated": True, "reply": base})
    if turn.search == "search":
        return (
            f"[simulated web search] results for: {prompt}\n"
            "1. Simulated result: no live data was fetched by the offline simulator.\n\n"
            f"{base}"
        )
    if turn.search == "refuse":
        return SEARCH_REFUSAL
    return base


def _reasoning(prompt: str, calls: Sequence[PlannedCall]) -> str:
    intent = (
        "I should call " + ", ".join(call.name for call in calls) + "."
        if calls
        else "I will answer in text."
    )
    return (
        f'Simulated reasoning: the user wrote "{prompt[:40]}". {intent} '
        "This reasoning is deterministic and comes from the offline simulator."
    )
