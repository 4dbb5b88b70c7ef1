"""Command-line front end (Typer)."""

from __future__ import annotations


def main() -> None:
    """Console-script entry point."""
    from alltoken_agent.cli.app import app

    app()
