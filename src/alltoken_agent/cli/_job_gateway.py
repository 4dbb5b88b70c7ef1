"""Which gateway a journaled media job goes back to, and with which request flags."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from alltoken_agent.cli.options import GatewayOptions, load_user_config

if TYPE_CHECKING:
    from alltoken_agent.media import MediaJobRecord


def job_groups(
    records: list[MediaJobRecord], flags: GatewayOptions
) -> dict[GatewayOptions, list[MediaJobRecord]]:
    """Jobs by the gateway to resume them on: the flags, else where each was made.

    The request flags (``--timeout``, ``--idle-timeout``, ``-v``) apply either way.
    """
    groups: dict[GatewayOptions, list[MediaJobRecord]] = {}
    for record in records:
        if flags.provider or flags.base_url or flags.offline:
            options = flags
        else:
            options = replace(
                job_origin(record),
                timeout=flags.timeout,
                idle_timeout=flags.idle_timeout,
                verbose=flags.verbose,
            )
        groups.setdefault(options, []).append(record)
    return groups


def job_origin(record: MediaJobRecord) -> GatewayOptions:
    """The provider and URL a job was made on (a test profile falls back to its dialect's)."""
    from alltoken_agent.gateway import get_provider, provider_names

    config = load_user_config()
    name = record.provider
    if name not in provider_names(config):
        name = record.dialect if record.dialect in ("alltoken", "tokenhub") else "openai"
    if record.result.get("offline"):
        # Its simulator is gone; offline again, so no real key goes to its old port.
        return GatewayOptions(provider=name, offline=True)
    default = get_provider(name, config).base_url
    url = record.base_url if record.base_url and record.base_url != default else None
    return GatewayOptions(provider=name, base_url=url)
