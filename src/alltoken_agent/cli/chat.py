"""`alltoken-agent chat`: one message in, the agent's streamed reply out.

This module declares the command's options for Typer (and its ``--help``); the run
itself is :func:`alltoken_agent.cli._chat_run.run_chat`, which plain command lines
reach without Typer (:mod:`alltoken_agent.cli._chat_quick`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alltoken_agent.cli.options import (
    BaseUrlOpt,
    IdleTimeoutOpt,
    JsonOpt,
    ModelOpt,
    OfflineOpt,
    ProviderOpt,
    TimeoutOpt,
    VerboseOpt,
)


def chat(
    prompt: Annotated[
        str | None,
        typer.Argument(help="The message to send; read from stdin if omitted.", show_default=False),
    ] = None,
    model: ModelOpt = None,
    system: Annotated[
        str | None,
        typer.Option("--system", "-s", help="System prompt.", show_default=False),
    ] = None,
    provider: ProviderOpt = None,
    base_url: BaseUrlOpt = None,
    temperature: Annotated[
        float | None,
        typer.Option(min=0.0, max=2.0, help="Sampling temperature, 0 to 2.", show_default=False),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", min=1, help="Cap on reply tokens.", show_default=False),
    ] = None,
    search: Annotated[
        bool,
        typer.Option(
            "--search",
            help="Search the web: enable_search where the model family supports it, "
            "else the web_search tool.",
        ),
    ] = False,
    thinking: Annotated[
        bool,
        typer.Option(
            "--thinking",
            help="Ask for the model's reasoning: dimmed above the answer on a terminal, "
            "else streamed to stderr.",
        ),
    ] = False,
    tools: Annotated[
        str,
        typer.Option(
            "--tools",
            help="Tools: default (get_current_time, calculate), none, or a comma-separated "
            "list (get_current_time, calculate, web_search).",
        ),
    ] = "default",
    max_steps: Annotated[
        int, typer.Option("--max-steps", min=1, help="Model requests allowed for this message.")
    ] = 5,
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            help="Keep the conversation under this name between runs (stored locally).",
            show_default=False,
        ),
    ] = None,
    continue_: Annotated[
        bool,
        typer.Option(
            "--continue",
            "-c",
            help="Continue the most recently used conversation (`alltoken-agent sessions`).",
        ),
    ] = False,
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget",
            min=0.0,
            help="Stop before spending more than this many USD on this message.",
            show_default=False,
        ),
    ] = None,
    usage_file: Annotated[
        Path | None,
        typer.Option(
            "--usage-file",
            help="Write a JSON usage and cost report of the run here (also when it fails).",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Approve every tool call that needs approval (else a terminal asks, "
            "and a script's calls are denied).",
        ),
    ] = False,
    mcp: Annotated[
        list[str] | None,
        typer.Option(
            "--mcp",
            metavar="NAME",
            help="Let the agent use the tools of MCP server NAME, declared as "
            "[mcp_servers.NAME] in the config file; repeat for more servers.",
            show_default=False,
        ),
    ] = None,
    offline: OfflineOpt = False,
    json_output: JsonOpt = False,
    timeout: TimeoutOpt = None,
    idle_timeout: IdleTimeoutOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Send a message to an agent and stream its reply to stdout.

    The agent may call tools (the time and a calculator by default) before it
    answers. With no API key set for the provider, it runs on the built-in
    offline simulator and says so on stderr.

    \b
    Examples:
      alltoken-agent chat "What time is it in Tokyo?"
      echo "Summarise this" | alltoken-agent chat -m deepseek-v4-flash --json
      alltoken-agent chat --session work "Remember: the build is on Fridays."
      alltoken-agent chat -c "And on holidays?"
      alltoken-agent chat --provider tokenhub --thinking --tools none "Why is the sky blue?"
    """
    from alltoken_agent.cli._chat_run import run_chat

    run_chat(
        prompt=prompt,
        model=model,
        system=system,
        provider=provider,
        base_url=base_url,
        temperature=temperature,
        max_tokens=max_tokens,
        search=search,
        thinking=thinking,
        tools=tools,
        max_steps=max_steps,
        session=session,
        continue_=continue_,
        budget=budget,
        usage_file=usage_file,
        yes=yes,
        mcp=mcp,
        offline=offline,
        json_output=json_output,
        timeout=timeout,
        idle_timeout=idle_timeout,
        verbose=verbose,
    )


def read_prompt(prompt: str | None) -> str:
    """The prompt from the argument, or from stdin when it is piped (``image``, ``video``)."""
    from alltoken_agent.cli._chat_run import read_prompt as read

    return read(prompt)
