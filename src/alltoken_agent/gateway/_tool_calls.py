"""Tool calls streamed in fragments: folding each into its slot, and the calls at the end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alltoken_agent.gateway.types import ToolCall, ToolCallDelta


def merge_tool_fragment(calls: dict[int, list[Any]], fragment: dict[str, Any]) -> ToolCallDelta:
    """Fold one tool-call fragment into its slot, keyed by ``index``.

    Hosts split ids, names and arguments differently, and interleave slots of
    parallel calls, so every part may arrive in any fragment.
    """
    index = fragment.get("index")
    if not isinstance(index, int):
        index = len(calls)
    slot = calls.get(index)
    if slot is None:
        slot = calls[index] = [None, "", []]
    call_id = fragment.get("id")
    if call_id:
        slot[0] = call_id
    function = fragment.get("function") or {}
    name = function.get("name")
    if name:
        # Most hosts send the name once; a few repeat it on every fragment.
        if not slot[1].endswith(name):
            slot[1] += name
    arguments = function.get("arguments") or ""
    if arguments:
        slot[2].append(arguments)
    return ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments)


def complete_calls(
    calls: dict[int, list[Any]], known: Callable[[str], str]
) -> tuple[ToolCall, ...]:
    """The complete calls in slot order, each masked again as a whole."""
    out = []
    for index in sorted(calls):
        call_id, name, parts = calls[index]
        # Fragments were masked one by one; a key spelt across them is masked here.
        arguments = known("".join(parts).strip()) or "{}"
        call_id = known(call_id) if call_id else f"call_{index}"
        out.append(ToolCall(id=call_id, name=known(name), arguments=arguments))
    return tuple(out)
