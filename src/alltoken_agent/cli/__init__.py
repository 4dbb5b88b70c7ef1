"""Command-line front end (Typer)."""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    # A plain `chat` line runs without Typer (cli/_chat_quick.py); a help request is
    # Typer's at once, so `chat --help` imports nothing more than before.
    if args[:1] == ["chat"] and not {"-h", "--help"} & set(args):
        from alltoken_agent.cli._chat_quick import run_quickly

        if run_quickly(args[1:]):
            return
    from alltoken_agent.cli.app import app

    app()
