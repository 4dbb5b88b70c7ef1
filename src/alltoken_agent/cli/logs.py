"""`alltoken-agent logs`: every stored prompt and reply, searchable (SQLite FTS5)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from alltoken_agent.cli.options import JsonOpt
from alltoken_agent.cli.output import EventWriter, run_command
from alltoken_agent.errors import UserError

SNIPPET = 200
"""Characters of a message shown per line (--json gives the whole text)."""


def logs(
    query: Annotated[
        str | None,
        typer.Option(
            "-q", "--query", help="Only messages with every one of these words.", show_default=False
        ),
    ] = None,
    count: Annotated[
        int, typer.Option("-n", "--count", min=1, max=10000, help="At most this many.")
    ] = 20,
    session: Annotated[
        str | None,
        typer.Option("--session", help="Only this session (name or id).", show_default=False),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Show stored prompts and replies: the newest, or those matching -q, best first.

    Every user and assistant message kept by `chat --session` (and the TUI) is
    indexed locally with SQLite FTS5. On PostgreSQL the search is a
    case-insensitive match on each word instead. No gateway is contacted.

    \b
    Examples:
      alltoken-agent logs
      alltoken-agent logs -q "build friday"
      alltoken-agent logs -q capital --session work -n 5 --json
    """
    from alltoken_agent.store import Store
    from alltoken_agent.store.search import MAX_QUERY, search_messages

    writer = EventWriter(enabled=False)

    async def main() -> None:
        if query is not None and len(query) > MAX_QUERY:
            raise UserError(f"-q takes at most {MAX_QUERY} characters")
        with Store() as store:
            session_id = None
            if session is not None:
                from alltoken_agent.cli.sessions import find

                session_id = find(store, session).id
            found = search_messages(store, query, session_id=session_id, limit=count)
        if json_output:
            items = [
                {
                    "session_id": f.session_id,
                    "session": f.session_name,
                    "model": f.model,
                    "position": f.position,
                    "role": f.role,
                    "text": f.text,
                    "created_at": f.created_at.isoformat(),
                }
                for f in found
            ]
            print(json.dumps(items, ensure_ascii=False, indent=2))
            return
        if not found:
            print("no messages found" if query else "no messages stored yet")
            return
        for f in found:
            text = " ".join(f.text.split())
            if len(text) > SNIPPET:
                text = text[: SNIPPET - 3] + "..."
            when = f.created_at.strftime("%Y-%m-%d %H:%M")
            print(f"{when}  {f.session_name or f.session_id}  {f.role}: {text}")

    run_command(main, writer)
