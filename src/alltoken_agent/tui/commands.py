"""Slash commands: parsing what the user typed, and the help table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandHelp:
    """One line of the help screen."""

    usage: str
    """The command as typed, with its argument (``/model [NAME]``)."""
    summary: str


COMMANDS: tuple[CommandHelp, ...] = (
    CommandHelp("/model [NAME]", "Switch model; without NAME, pick one from the catalog"),
    CommandHelp("/system [TEXT]", "Set the system prompt for the next turns; alone, show it"),
    CommandHelp("/clear", "Forget the conversation and start a new session"),
    CommandHelp("/image PROMPT", "Generate an image: a preview, or the saved path"),
    CommandHelp("/video PROMPT", "Generate a video: progress here, then the saved path"),
    CommandHelp("/save", "Export the conversation to a Markdown file in this folder"),
    CommandHelp("/sessions", "List stored conversations and resume one"),
    CommandHelp("/help", "Show commands and keys"),
)
"""Every command, in the order /help lists them."""

KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "Send the message"),
    ("Shift+Enter, Ctrl+J", "New line (pasting keeps lines too)"),
    ("Up, Down", "Earlier messages (on the first or last line)"),
    ("Esc", "Cancel the running reply"),
    ("Ctrl+C", "Cancel the running reply; twice to quit"),
    ("Ctrl+T", "Thinking on or off for the next turns"),
    ("F1", "This help"),
    ("F2", "Model picker"),
    ("F3", "Stored sessions"),
    ("Ctrl+Q", "Quit"),
)
"""Key bindings, as /help lists them."""


@dataclass(frozen=True)
class Command:
    """A slash command the user typed."""

    name: str
    """Lower-cased, without the slash (``model``)."""
    arg: str
    """Everything after the name, stripped ("" for none)."""


def parse_command(text: str) -> Command | None:
    """The command in ``text``, or None when it is a chat message.

    A message that starts with ``//`` is a chat message starting with ``/``
    (see :func:`chat_text`).
    """
    stripped = text.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    head, _, rest = stripped[1:].partition(" ")
    if "\n" in head:
        head, _, more = head.partition("\n")
        rest = f"{more}\n{rest}" if rest else more
    return Command(name=head.lower(), arg=rest.strip())


def chat_text(text: str) -> str:
    """The message to send: ``//x`` sends ``/x``."""
    stripped = text.strip()
    return stripped[1:] if stripped.startswith("//") else stripped
