"""`alltoken-agent check`: the automated integration check of docs/wire-format.md §2.2 and §2.5.

This module holds the command and the delivery of the record; the chat request and
its validation are in ``_check_chat``, the ``--media`` jobs in ``_check_media``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alltoken_agent import UserError
from alltoken_agent._files import write_atomic
from alltoken_agent.cli._check_chat import (
    ENDPOINT,
    MAX_TOKENS,
    OBJECTS,
    PROMPT,
    missing_key_record,
    recommended_action,
    run_check,
)
from alltoken_agent.cli._check_media import MEDIA_KINDS, media_supported, run_media_checks
from alltoken_agent.cli.exit_codes import AUTH, ERROR_PREFIX, OK
from alltoken_agent.cli.options import (
    BaseUrlOpt,
    GatewayOptions,
    MediaIdleTimeoutOpt,
    MediaTimeoutOpt,
    ModelOpt,
    OfflineOpt,
    ProviderOpt,
    VerboseOpt,
    load_user_config,
    open_gateway,
    print_retry,
)
from alltoken_agent.cli.output import EventWriter, run_command

if TYPE_CHECKING:
    from alltoken_agent import Gateway, RetryNotice

__all__ = [
    "ENDPOINT",
    "MAX_TOKENS",
    "OBJECTS",
    "PROMPT",
    "check",
    "recommended_action",
    "run_check",
]


def check(
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the record to FILE (replaced atomically) instead of stdout.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    media: Annotated[
        bool, typer.Option("--media", help="Also check the image and video endpoints.")
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the record on stdout as one line of JSON (also with -o); no summary "
            "line on stderr.",
        ),
    ] = False,
    offline: OfflineOpt = False,
    timeout: MediaTimeoutOpt = None,
    idle_timeout: MediaIdleTimeoutOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Check that a provider answers a minimal chat request as the integration contract says.

    Sends "Reply with OK only." (max_tokens 32, temperature 0, not streamed) and
    validates the raw reply: HTTP 200, `object` chat.completion(.chunk), non-empty
    `choices`, non-null `choices[0].message.content`. 429 and 5xx are retried with
    backoff. Writes a JSON record: the contract's integration_status (success or
    failed; simulated when the simulator answered), provider_mode, model, endpoint
    ("POST /v1/chat/completions"), validated_at and notes, then provider, base_url,
    request_id, http_status, attempts and, on failure, error_code and
    recommended_action. Exits with the chat exit codes: 0 success (or simulated),
    3 no key set or key refused, 4 balance, 5 rate limit, 6 gateway or network,
    1 reply off-contract. The API key is read from the provider's environment
    variable and never printed; with none set nothing is sent and the check fails
    (exit 3) naming the variable. --offline checks the built-in simulator instead.
    --media then also runs one small image job and one video job (AllToken, TokenHub)
    and validates the saved files; the record gets a `media` entry for each.

    \b
    Examples:
      alltoken-agent check
      TOKENHUB_API_KEY=... alltoken-agent check --provider tokenhub -o record.json
      alltoken-agent check --media -o record.json
      alltoken-agent check --base-url http://localhost:11434/v1 -m llama3.2 --json
    """
    writer = EventWriter(enabled=False)
    options = GatewayOptions(
        provider=provider,
        base_url=base_url,
        model=model,
        offline=offline,
        timeout=timeout,
        idle_timeout=idle_timeout,
        verbose=verbose,
    )
    code: list[int] = [OK]

    async def main() -> None:
        code[0] = await _check(options, output, json_output=json_output, media=media)

    run_command(main, writer)
    if code[0] != OK:
        raise typer.Exit(code[0])


async def _check(
    options: GatewayOptions, output: Path | None, *, json_output: bool, media: bool
) -> int:
    def on_retry(notice: RetryNotice) -> None:
        if options.verbose:  # else the record and the summary line say what happened
            print_retry(notice)

    if output is not None and not output.parent.is_dir():
        # Found out before any request: a media job costs money, its record must land.
        raise UserError(f"cannot write the record to {output}: no folder {output.parent}")
    missing = _missing_key(options, media=media)
    if missing is not None:
        _deliver(missing, output, json_output=json_output)
        return AUTH
    async with open_gateway(options, on_retry=on_retry) as gateway:
        if not gateway.model:
            raise UserError(
                f"no model chosen for provider {gateway.provider.name!r}: pass --model "
                "or set `model` in the config file"
            )
        if media:
            media_supported(gateway)
        record, exit_code = await run_check(gateway, gateway.model, on_retry=on_retry)
        if media:
            exit_code = await _add_media(gateway, record, exit_code)
    _deliver(record, output, json_output=json_output)
    return exit_code


def _missing_key(options: GatewayOptions, *, media: bool) -> dict[str, Any] | None:
    """The failure record when no key is set for the provider (and no --offline), else None.

    Unlike `chat`, the check never falls back to the simulator on its own: a check
    that did not reach the gateway must not pass (contract step 2: ask for a key).
    A --base-url may point at a local server that needs no key, so it is tried.
    """
    from alltoken_agent.gateway import resolve

    if options.offline:
        return None
    resolved = resolve(
        provider=options.provider,
        base_url=options.base_url,
        model=options.model,
        config=load_user_config(),
    )
    if not resolved.missing_key or resolved.base_url_overridden:
        return None
    record = missing_key_record(
        resolved.provider.name,
        resolved.model,
        resolved.provider.base_url or "",
        resolved.provider.api_key_env,
    )
    if media:
        reason = "skipped: no API key"
        record["media"] = {kind: {"status": "skipped", "notes": reason} for kind in MEDIA_KINDS}
    return record


async def _add_media(gateway: Gateway, record: dict[str, Any], chat_code: int) -> int:
    """Run the media checks into ``record["media"]``; the record fails with the first failure.

    After a failed chat check nothing more is sent: a refused key or an empty balance
    would fail the media jobs the same way, and a media job may cost real money.
    """
    if chat_code != OK:
        reason = "skipped: the chat check failed"
        record["media"] = {kind: {"status": "skipped", "notes": reason} for kind in MEDIA_KINDS}
        return chat_code
    entries, media_code = await run_media_checks(gateway)
    record["media"] = entries
    failed = next((kind for kind, entry in entries.items() if entry["status"] != "passed"), None)
    if failed is not None:
        entry = entries[failed]
        record.update(
            integration_status="failed",
            failed_check=failed,
            error_code=entry["error_code"],
            http_status=entry["http_status"],
            recommended_action=entry["recommended_action"],
        )
    return media_code


def _deliver(record: dict[str, Any], output: Path | None, *, json_output: bool) -> None:
    if output is not None:
        try:
            write_atomic(output, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            raise UserError(f"cannot write the record to {output}: {exc.strerror or exc}") from None
    if json_output:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif output is None:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    if not json_output:
        print(_summary(record, output), file=sys.stderr)


def _summary(record: dict[str, Any], output: Path | None) -> str:
    where = f"; record written to {output}" if output is not None else ""
    status = record["integration_status"]
    # A failed check is an error line, and starts like every other one.
    prefix = ERROR_PREFIX if status == "failed" else "alltoken-agent: "
    head = (
        f"{prefix}integration check {status}: "
        f"{record['provider']} ({record['provider_mode']}), model {record['model']}"
    )
    media = record.get("media") or {}
    if media:
        head += ", " + ", ".join(f"{kind} {entry['status']}" for kind, entry in media.items())
    if record.get("error_code") == "missing_api_key":
        return f"{head}: {record['recommended_action']}{where}"
    if record["integration_status"] == "simulated":
        return (
            f"{head}, request_id {record['request_id']}: the simulator answered, not the "
            f"gateway; this is no integration check of the gateway{where}"
        )
    if record["integration_status"] == "success":
        return f"{head}, request_id {record['request_id']}{where}"
    status = record.get("http_status")
    code = f"{record['error_code']}" + (f" (HTTP {status})" if status is not None else "")
    failed = record.get("failed_check")
    code = f"{failed} check: {code}" if failed and failed != "chat" else code
    return f"{head}: {code}; {record['recommended_action']}{where}"
