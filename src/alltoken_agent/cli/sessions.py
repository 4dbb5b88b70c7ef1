"""`--session NAME`: a conversation kept in the local store, and `alltoken-agent sessions`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from alltoken_agent.cli.options import JsonOpt
from alltoken_agent.cli.output import EventWriter, run_command
from alltoken_agent.cli.terminal import Align, render_table
from alltoken_agent.errors import UserError

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported when a command runs
    from alltoken_agent.store import SessionRecord, Store


@dataclass
class SessionLink:
    """A named session opened for one command run."""

    store: Store
    record: SessionRecord
    history: list[dict[str, Any]]

    @classmethod
    def open(cls, store: Store, name: str) -> SessionLink:
        """Open (or create) the session called ``name``."""
        record, _ = store.sessions.get_or_create_session(name)
        history = store.sessions.load_messages(record.id)
        return cls(store=store, record=record, history=history)

    @property
    def instructions(self) -> str | None:
        """The system prompt the session was last run with."""
        return self.record.instructions

    def save(
        self, messages: Sequence[dict[str, Any]], *, model: str | None, system: str | None
    ) -> None:
        """Append this run's messages; remember the model and any new system prompt."""
        if messages:
            self.store.sessions.append_messages(self.record.id, messages)
        changes: dict[str, Any] = {"model": model}
        if system is not None:
            changes["instructions"] = system
        self.store.sessions.update_session(self.record.id, **changes)


def open_session(
    store: Store, name: str | None, *, continue_last: bool = False
) -> SessionRecord | None:
    """The session `chat` runs in: ``--session NAME``, the last used one (``-c``), or none.

    Prints one notice line on stderr when it continues the last conversation (saying
    which) or when NAME is new (a new conversation starts, not a typo'd old one).

    Raises:
        UserError: Both were given, or there is no conversation to continue.
    """
    if continue_last:
        if name is not None:
            raise UserError("pass --session NAME or -c/--continue, not both")
        latest = store.sessions.list_sessions(limit=1)
        if not latest:
            raise UserError(
                "no conversation to continue yet: `alltoken-agent chat --session NAME` keeps one"
            )
        record = latest[0]
        print(
            f"alltoken-agent: continuing session {record.name or record.id!r} "
            f"({record.message_count} messages, last used "
            f"{record.updated_at:%Y-%m-%d %H:%M} UTC)",
            file=sys.stderr,
        )
        return record
    if name is None:
        return None
    record, created = store.sessions.get_or_create_session(name)
    if created:
        print(
            f"alltoken-agent: no session named {name!r} yet; starting a new conversation",
            file=sys.stderr,
        )
    return record


# -- `alltoken-agent sessions`: list, show, export, rename, rm -----------------------

sessions_app = typer.Typer(
    name="sessions",
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SessionArg = Annotated[str, typer.Argument(metavar="NAME|ID", help="A session's name or id.")]


def find(store: Store, key: str) -> SessionRecord:
    """The local session called ``key``, or with the id ``key``.

    Raises:
        UserError: There is none.
    """
    record = store.sessions.find_session(key) or store.sessions.get_session(key)
    if record is None:
        raise UserError(f"no session named {key!r}; `alltoken-agent sessions` lists them")
    return record


@sessions_app.callback(invoke_without_command=True)
def sessions(ctx: typer.Context) -> None:
    """Conversations kept with `chat --session NAME`: list, show, export, rename, rm.

    With no command, lists them, most recently used first. `chat -c` continues
    the most recently used one.

    \b
    Examples:
      alltoken-agent sessions
      alltoken-agent sessions show work
      alltoken-agent sessions export work --format md -o work.md
      alltoken-agent sessions rename work build-notes
      alltoken-agent sessions rm build-notes --yes
    """
    if ctx.invoked_subcommand is None:
        list_sessions()


@sessions_app.command("list")
def list_sessions(
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, max=1000, help="At most.")] = 50,
    json_output: JsonOpt = False,
) -> None:
    """List sessions: title, model, turns, real spend and when last used.

    Spend is what the ledger recorded for the session's real requests; "unknown"
    when a request's cost is unknown or none was recorded (never a made-up $0). A
    session that only ran on the simulator shows its simulated spend, marked "(sim)".

    \b
    Examples:
      alltoken-agent sessions list
      alltoken-agent sessions list -n 10 --json
    """
    from alltoken_agent.cli._session_view import list_rows

    writer = EventWriter(enabled=json_output)

    async def main() -> None:
        from alltoken_agent.store import Store

        with Store() as store:
            rows = list_rows(store, limit)
        if json_output:
            for row in rows:
                writer.emit("session", **row)
            return
        if not rows:
            print("no sessions yet: `alltoken-agent chat --session NAME` keeps one")
            return
        columns = ["TITLE", "MODEL", "TURNS", "SPEND", "LAST USED (UTC)", "ID"]
        aligns: list[Align] = ["left", "left", "right", "right", "left", "left"]
        table = [
            [
                r["title"],
                r["model"] or "-",
                str(r["turns"]),
                _spend_cell(r),
                r["last_used"][:16].replace("T", " "),
                r["id"],
            ]
            for r in rows
        ]
        render_table(list(zip(columns, aligns, strict=True)), table)

    run_command(main, writer)


@sessions_app.command("show")
def show(key: SessionArg) -> None:
    """Print a session's conversation as Markdown.

    \b
    Examples:
      alltoken-agent sessions show work
      alltoken-agent sessions show ses_0123456789abcdef
    """
    from alltoken_agent.cli._session_view import markdown

    async def main() -> None:
        from alltoken_agent.store import Store

        with Store() as store:
            record = find(store, key)
            sys.stdout.write(markdown(record, store.sessions.load_messages(record.id)))

    run_command(main, EventWriter(enabled=False))


@sessions_app.command("export")
def export(
    key: SessionArg,
    format_: Annotated[
        Literal["md", "json"], typer.Option("--format", help="Markdown, or JSON messages.")
    ] = "md",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write here instead of stdout.", dir_okay=False),
    ] = None,
) -> None:
    """Export a session: a Markdown transcript, or JSON in the chat request's shape.

    The JSON is {"model", "messages", "session"}: the messages as the chat API takes
    them (the system prompt first, when the session has one).

    \b
    Examples:
      alltoken-agent sessions export work > work.md
      alltoken-agent sessions export work --format json -o work.json
    """
    from alltoken_agent.cli._session_view import as_json, markdown

    async def main() -> None:
        from alltoken_agent.store import Store

        with Store() as store:
            record = find(store, key)
            messages = store.sessions.load_messages(record.id)
        text = markdown(record, messages) if format_ == "md" else as_json(record, messages)
        if output is None:
            sys.stdout.write(text)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise UserError(f"cannot write {output}: {error.strerror}") from None
        print(f"wrote {output}", file=sys.stderr)

    run_command(main, EventWriter(enabled=False))


@sessions_app.command("rename")
def rename(key: SessionArg, new: Annotated[str, typer.Argument(help="The new name.")]) -> None:
    """Give a session a new name (its messages stay).

    \b
    Examples:
      alltoken-agent sessions rename work build-notes
    """

    async def main() -> None:
        from alltoken_agent.store import Store

        with Store() as store:
            record = find(store, key)
            store.sessions.rename_session(record.id, new)
        print(f"renamed session {record.name or record.id!r} to {new!r}", file=sys.stderr)

    run_command(main, EventWriter(enabled=False))


@sessions_app.command("rm")
def remove(
    key: SessionArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a session and its messages (the ledger's spend records stay).

    Asks on a terminal; a script passes --yes.

    \b
    Examples:
      alltoken-agent sessions rm build-notes
      alltoken-agent sessions rm build-notes --yes
    """

    async def main() -> None:
        from alltoken_agent.store import Store

        with Store() as store:
            record = find(store, key)
            what = f"session {record.name or record.id!r} ({record.message_count} messages)"
            if not yes:
                if not (sys.stdin.isatty() and sys.stderr.isatty()):
                    raise UserError(f"not deleting {what} without --yes (no terminal to ask)")
                if not typer.confirm(f"delete {what}?", default=False, err=True):
                    print("kept it", file=sys.stderr)
                    return
            store.sessions.delete_session(record.id)
        print(f"deleted {what}", file=sys.stderr)

    run_command(main, EventWriter(enabled=False))


def _spend_cell(row: dict[str, Any]) -> str:
    if row["spend"] is not None:
        return f"${Decimal(row['spend']):.6f}"
    if not row["real_requests"] and row["simulated_spend"] is not None:
        return f"${Decimal(row['simulated_spend']):.6f} (sim)"
    return "unknown"
