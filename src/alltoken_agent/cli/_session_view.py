"""What `alltoken-agent sessions` shows of a session: list rows, Markdown, JSON export."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from alltoken_agent.store import SessionRecord, Store

TITLE_LENGTH = 48
"""Characters of a first prompt used as a title; longer ones are cut with "..."."""


def title(record: SessionRecord, first_prompt: str | None) -> str:
    """The session's name, or its first prompt cut short, or its id."""
    if record.name:
        return record.name
    text = " ".join((first_prompt or "").split())
    if not text:
        return record.id
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 3] + "..."


def list_rows(store: Store, limit: int) -> list[dict[str, Any]]:
    """One JSON-ready row per local session, most recently used first."""
    from alltoken_agent.store.search import session_facts, session_spend

    records = store.sessions.list_sessions(limit=limit)
    facts = session_facts(store, [r.id for r in records])
    names = [r.name for r in records if r.name]
    spends = session_spend(store, names)
    simulated = session_spend(store, names, simulated=True)
    rows = []
    for record in records:
        turns, first = facts.get(record.id, (0, None))
        spend = spends.get(record.name) if record.name else None
        total = None if spend is None else spend.total
        offline = simulated.get(record.name) if record.name else None
        offline_total = None if offline is None else offline.total
        rows.append(
            {
                "id": record.id,
                "name": record.name,
                "title": title(record, first),
                "model": record.model,
                "turns": turns,
                "messages": record.message_count,
                # Real spend only; None (unknown) rather than 0 when it is not known.
                "spend": None if total is None else format(total, "f"),
                "unknown_cost_requests": 0 if spend is None else spend.unknown,
                "real_requests": 0 if spend is None else spend.requests,
                # The simulator's made-up costs, kept apart from the real spend above.
                "simulated_spend": None if offline_total is None else format(offline_total, "f"),
                "last_used": record.updated_at.isoformat(),
            }
        )
    return rows


def markdown(record: SessionRecord, messages: Sequence[Mapping[str, Any]]) -> str:
    """A readable transcript: a heading per message, tool calls as one line each."""
    from alltoken_agent.store.search import message_text

    lines = [f"# {record.name or record.id}", ""]
    lines.append(f"- id: {record.id}")
    lines.append(f"- model: {record.model or 'unknown'}")
    lines.append(f"- last used: {record.updated_at.isoformat()}")
    if record.instructions:
        lines += ["", "## System", "", record.instructions]
    for message in messages:
        role = str(message.get("role", "?"))
        lines += ["", f"## {role.capitalize()}", ""]
        text = message_text(message)
        if text:
            lines.append(text)
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                name, arguments = function.get("name"), function.get("arguments")
                lines.append(f"- tool call: `{name}({arguments or ''})`")
    return "\n".join(lines) + "\n"


def as_json(record: SessionRecord, messages: Sequence[Mapping[str, Any]]) -> str:
    """The conversation as a chat request body: model and messages, plus the session."""
    chat: list[Mapping[str, Any]] = []
    if record.instructions:
        chat.append({"role": "system", "content": record.instructions})
    chat.extend(messages)
    document = {
        "model": record.model,
        "messages": chat,
        "session": {
            "id": record.id,
            "name": record.name,
            "created_at": record.created_at.isoformat(),
            "last_used": record.updated_at.isoformat(),
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
