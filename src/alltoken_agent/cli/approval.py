"""Asking a person on the terminal whether a tool call may run."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from alltoken_agent.agent import ApprovalDecision, ApprovalHandler, ApprovalRequest


def approval_handler(*, assume_yes: bool) -> ApprovalHandler | None:
    """``--yes`` approves every call; a terminal asks; otherwise nobody can (deny)."""
    if assume_yes:
        return lambda request: True
    if sys.stdin is not None and sys.stdin.isatty() and sys.stderr.isatty():
        return _ask
    return None


async def _ask(request: ApprovalRequest) -> ApprovalDecision:
    return await asyncio.to_thread(_ask_blocking, request)


def _ask_blocking(request: ApprovalRequest) -> ApprovalDecision:
    shown = json.dumps(request.arguments, ensure_ascii=False)
    while True:
        answer = _prompt(f"Allow {request.tool_name}({shown})? [y]es / [n]o / [e]dit: ").lower()
        if answer in ("y", "yes"):
            return ApprovalDecision.allow()
        if answer in ("n", "no", ""):
            return ApprovalDecision.deny("the user declined this call")
        if answer in ("e", "edit"):
            edited = _edit()
            if edited is not None:
                return ApprovalDecision.edit(edited)


def _edit() -> Any | None:
    text = _prompt("New arguments as JSON (empty to go back): ")
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        print(f"not valid JSON: {error}", file=sys.stderr)
        return None
    if not isinstance(value, dict):
        print("the arguments must be a JSON object", file=sys.stderr)
        return None
    return value


def _prompt(text: str) -> str:
    sys.stderr.write(text)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:  # end of input: nobody is there to approve
        return "n"
    return line.strip()
