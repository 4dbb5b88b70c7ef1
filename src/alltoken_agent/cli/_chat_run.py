"""What ``alltoken-agent chat`` does once its options are parsed, without Typer.

:func:`run_chat` is the command: ``cli/chat.py`` declares its options for Typer and
calls it, and :mod:`alltoken_agent.cli._chat_quick` calls it straight from the
command line when the arguments are plain, so a chat run need not import Typer.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alltoken_agent import NotFoundError, UserError
from alltoken_agent._config_plain import plain_values
from alltoken_agent.cli._gateway_options import (
    GatewayOptions,
    load_user_config,
    open_gateway,
    print_retry,
)
from alltoken_agent.cli.exit_codes import USAGE
from alltoken_agent.cli.output import EventWriter, run_command

if TYPE_CHECKING:  # the agent, store and ledger are imported when the command runs
    from alltoken_agent import RequestRecord, RetryNotice
    from alltoken_agent.catalog import PriceLookup
    from alltoken_agent.cli.sessions import SessionLink
    from alltoken_agent.store import SessionRecord, Store


def run_chat(
    prompt: str | None = None,
    model: str | None = None,
    system: str | None = None,
    provider: str | None = None,
    base_url: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    search: bool = False,
    thinking: bool = False,
    tools: str = "default",
    max_steps: int = 5,
    session: str | None = None,
    continue_: bool = False,
    budget: float | None = None,
    usage_file: Path | None = None,
    yes: bool = False,
    mcp: list[str] | None = None,
    offline: bool = False,
    json_output: bool = False,
    timeout: float | None = None,
    idle_timeout: float | None = None,
    verbose: bool = False,
    *,
    checked: bool = False,
) -> None:
    """Run ``chat`` with parsed options (the parameters and defaults of ``cli/chat.py``).

    ``checked``: the arguments and the environment are known to be UTF-8 already.
    Exits by ``SystemExit`` with the exit code when the run fails.
    """
    from alltoken_agent.cli.approval import approval_handler

    options = GatewayOptions(
        provider=provider,
        base_url=base_url,
        model=model,
        offline=offline,
        timeout=timeout,
        idle_timeout=idle_timeout,
    )
    settings: dict[str, Any] = {
        "max_steps": max_steps,
        "enable_search": search,
        "thinking": thinking,
    }
    if temperature is not None:
        settings["temperature"] = temperature
    if max_tokens is not None:
        settings["settings"] = {"max_tokens": max_tokens}  # Agent's ModelSettings
    if budget is not None:
        settings["budget_usd"] = Decimal(str(budget))
    settings["approval_handler"] = approval_handler(assume_yes=yes)
    writer = EventWriter(enabled=json_output)
    records: list[RequestRecord] = []
    prices: list[PriceLookup] = []  # the ledger's, so the usage file estimates alike
    failure: dict[str, Any] = {}  # the error run_command reports, named as it names it

    async def main() -> None:
        if mcp:
            from alltoken_agent.mcp_wire.servers import servers_from_config

            settings["mcp_servers"] = servers_from_config(load_user_config(), mcp)
        await _chat(
            prompt,
            system,
            tools,
            session,
            options,
            settings,
            writer,
            records,
            prices,
            verbose=verbose,
            continue_last=continue_,
            checked=checked,
        )

    try:
        # The config file's plain values without pydantic (about 40 ms before the request);
        # a file that needs the schema still goes through it (alltoken_agent._config_plain).
        with plain_values():
            run_command(main, writer, failure=failure, checked=checked)
    except SystemExit as exit_:
        if usage_file is not None:
            _write_usage(usage_file, records, {**failure, "exit_code": exit_.code}, prices)
        raise
    if usage_file is not None:
        _write_usage(usage_file, records, None, prices)


def _write_usage(
    path: Path,
    records: list[RequestRecord],
    error: dict[str, Any] | None,
    prices: list[PriceLookup],
) -> None:
    from alltoken_agent.ledger import write_usage_report

    try:
        write_usage_report(
            path,
            records,
            status="error" if error else "ok",
            error=error,
            prices=prices[0] if prices else None,
        )
    except OSError as failure:
        print(f"error: cannot write the usage file {path}: {failure.strerror}", file=sys.stderr)
        raise SystemExit(USAGE) from None


def read_prompt(prompt: str | None, *, checked: bool = False) -> str:
    """The prompt from the argument, or from stdin when it is piped.

    ``checked``: the argument is known to be UTF-8 already (``chat`` run without Typer).
    """
    if prompt is None or not checked:
        from alltoken_agent.cli._input import check_text, read_stdin

        if prompt is None:
            if sys.stdin is None or sys.stdin.isatty():
                raise UserError("no prompt: pass PROMPT or pipe text on stdin")
            prompt = read_stdin("the prompt on stdin")
        check_text(prompt, "PROMPT")
    if not prompt.strip():
        raise UserError("the prompt is empty")
    return prompt


async def _chat(
    prompt: str | None,
    system: str | None,
    tools_spec: str,
    session_name: str | None,
    options: GatewayOptions,
    settings: dict[str, Any],
    writer: EventWriter,
    records: list[RequestRecord],
    prices: list[PriceLookup],
    *,
    verbose: bool = False,
    continue_last: bool = False,
    checked: bool = False,
) -> None:
    import asyncio

    from alltoken_agent import Agent, request_tags
    from alltoken_agent.agent import DEFAULT_INSTRUCTIONS, resolve_tool_names
    from alltoken_agent.agent.stored_history import load_history
    from alltoken_agent.cli._chat_printer import ChatPrinter, emit_done
    from alltoken_agent.cli._chat_quick import resume_gc
    from alltoken_agent.ledger import Budgets, DeferredLedger

    text = read_prompt(prompt, checked=checked)
    tools = resolve_tool_names(tools_spec)
    config = load_user_config()

    def on_retry(notice: RetryNotice) -> None:
        if writer.enabled:
            from alltoken_agent.agent.result import RetryEvent

            writer.emit_event(RetryEvent.from_notice(notice).to_dict())
        elif verbose:  # else the one error line at the end says what happened
            print_retry(notice)

    # The store (SQLAlchemy, a schema check) opens before the request only for a session
    # or a daily budget; otherwise the ledger opens it once the first request has ended.
    store: Store | None = None
    record: SessionRecord | None = None
    if session_name is not None or continue_last or config.budget.daily_usd is not None:
        from alltoken_agent.cli.sessions import open_session
        from alltoken_agent.store import Store

        store = Store()
        # The record now (a bad name fails before any request); its history once the model
        # is known, since a long session loads only what can fit the model's context.
        record = open_session(store, session_name, continue_last=continue_last)
    if record is not None:  # -c: the ledger books the turn under the session continued
        session_name = record.name or record.id
    link: SessionLink | None = None
    try:
        async with open_gateway(options, on_retry=on_retry, one_at_a_time=True) as gateway:
            gateway.add_observer(records.append)
            # Priced after the reply unless a budget must estimate the request first.
            deferred = DeferredLedger(gateway, config, store=store)
            gateway.add_observer(deferred.observer)
            if "budget_usd" in settings:
                await deferred.look_up_prices()
            if not gateway.model:
                raise UserError(
                    f"no model chosen for provider {gateway.provider.name!r}: pass --model "
                    "or set `model` in the config file"
                )
            if record is not None and store is not None:
                from alltoken_agent.cli.sessions import SessionLink

                history = await load_history(store, record, gateway, config, gateway.model)
                link = SessionLink(store=store, record=record, history=history)
            instructions = system or (link.instructions if link else None) or DEFAULT_INSTRUCTIONS
            budgets = Budgets()
            if config.budget.daily_usd is not None:  # it estimates each request: priced now
                # The book follows the gateway: a simulator found at --base-url is
                # known from its first reply, and its spend is not real.
                budgets = Budgets.from_config(
                    config.budget, await deferred.ledger(), book=lambda: gateway.simulated
                )
            agent = Agent(
                gateway.model,
                instructions=instructions,
                tools=tools,
                gateway=gateway,
                history=link.history if link else None,
                config=config,
                prices=deferred.prices,
                budgets=budgets,
                **settings,
            )
            start = agent.message_count  # a long session's history is not copied for this
            run = agent.stream(text)
            events = aiter(run)
            printer = ChatPrinter(writer)
            try:
                with request_tags(session=session_name):
                    async for event in events:
                        if event.name == "stream:start":  # the request is on its way
                            resume_gc()  # paused for start-up by the plain command line
                            deferred.prepare()
                        printer.show(event)
                printer.close()
                emit_done(run.result, writer)
            except NotFoundError as error:  # a mistyped model: close ids, while online
                from alltoken_agent.cli._did_you_mean import explain_unknown_model

                await explain_unknown_model(error, gateway, gateway.model)
                raise
            except asyncio.CancelledError:
                deferred.interrupt()  # Ctrl-C, SIGTERM: record now, no waiting for prices
                raise
            finally:
                printer.interrupted()  # a terminal's answer ends its line before any error
                # When printing fails (`| head` closed the pipe) the run is still
                # suspended mid-request; close it now, while the ledger's store is
                # open, so its request is recorded instead of failing at exit.
                close = getattr(events, "aclose", None)
                if close is not None:
                    await close()
                # Whatever the agent committed (whole steps only) is kept, even on failure.
                if link is not None:
                    link.save(agent.get_messages(start), model=gateway.model, system=system)
                try:
                    await agent.aclose()  # stops its MCP servers; the gateway is not its own
                finally:
                    await deferred.aclose()  # records what waited for prices
                    if deferred.prices is not None:
                        prices.append(deferred.prices)
    finally:
        if store is not None:
            store.close()
