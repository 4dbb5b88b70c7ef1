"""`config show` and `config init`: the effective settings, and the commented template."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from alltoken_agent import Config, ConfigError, load_config
from alltoken_agent.cli._config_set import HIDDEN, read_document
from alltoken_agent.cli._toml_edit import key_text, value_text
from alltoken_agent.gateway import (
    BUILTIN_PROVIDERS,
    DEFAULT_PROVIDER,
    get_provider,
    provider_names,
)
from alltoken_agent.gateway.providers import BASE_URL_ENV, MODEL_ENV, PROVIDER_ENV

SERVER_KEYS_ENV = "ALLTOKEN_AGENT_SERVER_KEYS"
ENVIRONMENT: tuple[tuple[str, bool], ...] = (
    ("ALLTOKEN_AGENT_HOME", True),
    (PROVIDER_ENV, True),
    (MODEL_ENV, True),
    (BASE_URL_ENV, True),
    (SERVER_KEYS_ENV, False),
    ("ALLTOKEN_AGENT_SERVER_STORE", False),
    ("ALLTOKEN_AGENT_SERVER_MEDIA_DIR", True),
    ("ALLTOKEN_AGENT_DEBUG", True),
)
"""The variables `config show` reports: name, and whether its value may be shown."""
_TABLES_SHOWN_APART = ("providers", "mcp_servers")

TEMPLATE = """\
# alltoken-agent config file (TOML). Every setting is commented out, so the values
# below are the defaults; uncomment a line to change it, or run
# `alltoken-agent config set KEY VALUE`. `alltoken-agent config show` prints what is
# in effect. Flags beat environment variables, which beat this file.

# provider = "alltoken"              # alltoken, tokenhub, openai, or a [providers.NAME]
# model = "minimax-m2.7"             # default: the provider's default model
# fallbacks = ["deepseek-v4-flash"]  # tried in order when the model fails after its retries

# [timeouts]                         # seconds
# connect = 10.0
# read = 60.0                       # between two bytes
# write = 30.0
# pool = 30.0
# idle = 120.0                       # a stream without a data line (pings do not count)
# total = 600.0                      # a whole request: retries, waits and the reply

# [retry]                            # 429, 5xx, timeouts and connection errors
# max_retries = 3
# base_delay = 0.5
# max_delay = 20.0
# max_retry_after = 120.0

# [http]                             # the connection pool of a gateway
# max_connections = 1000             # open connections; past it a request waits (pool)
# keepalive_expiry = 5.0             # seconds an idle connection is kept

# [budget]
# daily_usd = "5.00"                 # stop before a request that would cross it
# warn_at = 0.8                      # a budget:warning event at 80 %

# [ledger]
# max_request_cost_usd = "100"       # a gateway cost above it is recorded as unknown

# [media]                            # the largest result download accepted, in MiB
# max_image_mb = 64.0                # past it: result_too_large, the job stays resumable
# max_video_mb = 2048.0

# [context]
# policy = "trim"                    # drop the oldest turns to fit, or "fail"
# lengths = { "my-model" = 32000 }   # context length per model, over the catalog's

# [approval]
# tools = ["web_search"]             # tool calls a person must approve first

# [providers.local]                  # a provider of your own, or a built-in's overrides
# base_url = "http://127.0.0.1:11434/v1"
# api_key_env = "LOCAL_API_KEY"      # the variable holding the key (never the key)
# requires_key = false
# default_model = "llama3.2"
# dialect = "openai"                 # alltoken, tokenhub or openai
# headers = { "X-Team" = "research" }

# [families.deepseek]                # a model family's quirks
# prefixes = ["deepseek"]
# search = "native"                  # native, ignored, unreliable, rejected or unknown
# echo_reasoning = true              # send earlier reasoning_content back

# [prices."my-model"]                # a model's price in USD, over the catalog's
# input_per_1k = "0.0002"
# output_per_1k = "0.00125"
# per_image = "0.04"
# per_video_second = "0.1"

# [mcp_servers.files]                # MCP tools for `chat --mcp files`, `tui --mcp files`
# command = "npx"                    # stdio; or url = "https://..." (streamable HTTP)
# args = ["-y", "@modelcontextprotocol/server-filesystem", "."]
# env_vars = ["GITHUB_TOKEN"]        # passed on from your environment
# startup_timeout = 30.0
# call_timeout = 120.0
# list_timeout = 30.0

# [server]                           # `alltoken-agent serve`
# keys = ["a-long-random-key"]       # Bearer keys; ALLTOKEN_AGENT_SERVER_KEYS overrides
# store_url = "postgresql://agent@db.internal/agent"   # default: the local SQLite file
# max_body_bytes = 8388608
# rate_limit_per_minute = 120.0
# rate_limit_burst = 30
# max_concurrent_runs = 8
# daily_budget_usd = "5.00"
# shutdown_grace = 20.0
# header_timeout = 10.0              # seconds to send a request's headers; 408 past it
# auth_failure_limit = 10            # wrong keys per client address per window; then 429
# auth_failure_window = 60.0
# max_sessions_per_key = 1000        # creating one more session is 403
# media_jobs = "server"              # or "workers": queued for `alltoken-agent worker --watch`
# processes = 1                     # server processes sharing the port; limits count per process
"""
"""Written by `config init`: every section of ``Config``, commented out."""


def effective_view(target: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """Everything `config show` prints, as JSON-able data (no secret in it).

    Raises:
        ConfigError: The file is not valid TOML or not valid settings.
    """
    document = read_document(target)
    config = load_config(target)
    settings: dict[str, dict[str, Any]] = {}
    effective = plain(config)
    for name in _TABLES_SHOWN_APART:
        effective.pop(name)
    for key, value in _flatten(effective, ()):
        settings[".".join(key_text(part) for part in key)] = {
            "value": value,
            "source": "file" if _present(document, key) else "default",
        }
    provider = _override(settings, "provider", environ, PROVIDER_ENV) or DEFAULT_PROVIDER
    settings["provider"]["value"] = provider
    model = _override(settings, "model", environ, MODEL_ENV)
    if model is None:
        try:
            default_model = get_provider(provider, config).default_model
        except ConfigError:
            default_model = None
        settings["model"] = {"value": default_model, "source": f"default (provider {provider})"}
    if environ.get(SERVER_KEYS_ENV):
        settings["server.keys"] = {"value": HIDDEN, "source": f"env {SERVER_KEYS_ENV}"}
    return {
        "path": str(target),
        "exists": target.exists(),
        "settings": settings,
        "providers": [
            _provider_row(name, provider, config, environ) for name in provider_names(config)
        ],
        "mcp_servers": [
            {"name": name, **_transport(server.command, server.url)}
            for name, server in config.mcp_servers.items()
        ],
        "environment": {
            name: _environment_value(environ.get(name), shown) for name, shown in ENVIRONMENT
        },
    }


def render_view(view: dict[str, Any]) -> str:
    """`config show` as aligned plain text."""
    state = "" if view["exists"] else " (not there yet: built-in defaults apply)"
    lines = [f"Config file: {view['path']}{state}", "", "Settings:"]
    rows = [
        [key, _text(entry["value"]), entry["source"]] for key, entry in view["settings"].items()
    ]
    lines += _aligned(rows)
    lines += ["", "Providers (* in use):"]
    header = ["NAME", "BASE URL", "KEY VARIABLE", "KEY", "DEFAULT MODEL", "DIALECT", "FROM"]
    rows = [header]
    for row in view["providers"]:
        mark = "*" if row["current"] else " "
        rows.append(
            [
                f"{mark} {row['name']}",
                row["base_url"] or "-",
                row["api_key_env"] or "-",
                row["key"],
                row["default_model"] or "-",
                row["dialect"],
                row["source"],
            ]
        )
    lines += _aligned(rows)
    if view["mcp_servers"]:
        lines += ["", "MCP servers:"]
        lines += _aligned([[s["name"], s["transport"], s["target"]] for s in view["mcp_servers"]])
    lines += ["", "Environment:"]
    lines += _aligned([[name, value] for name, value in view["environment"].items()])
    return "\n".join(lines) + "\n"


def plain(value: Any, *, every_field: bool = True) -> Any:
    """A settings value as JSON-able data, secrets replaced by ``HIDDEN``.

    ``every_field`` lists a model's defaults too; entries of the tables named by the
    user (``providers.NAME`` and the like) list only the fields the file sets.
    """
    if isinstance(value, SecretStr):
        return HIDDEN
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        chosen = fields if every_field else value.model_fields_set
        return {
            name: plain(getattr(value, name), every_field=every_field)
            for name in fields
            if name in chosen
        }
    if isinstance(value, dict):
        return {name: plain(item, every_field=False) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item, every_field=every_field) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # Decimal: exact, as the file writes it


def _flatten(data: dict[str, Any], prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    rows: list[tuple[tuple[str, ...], Any]] = []
    for name, value in data.items():
        if isinstance(value, dict) and value:
            rows += _flatten(value, (*prefix, name))
        else:
            rows.append(((*prefix, name), value))
    return rows


def _present(document: dict[str, Any], path: tuple[str, ...]) -> bool:
    value: Any = document
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def _override(
    settings: dict[str, dict[str, Any]], key: str, environ: Mapping[str, str], variable: str
) -> str | None:
    """The setting after its environment variable; None when neither sets it."""
    if environ.get(variable):
        settings[key] = {"value": environ[variable], "source": f"env {variable}"}
    value = settings[key]["value"]
    return value if isinstance(value, str) else None


def _provider_row(
    name: str, current: str, config: Config, environ: Mapping[str, str]
) -> dict[str, Any]:
    profile = get_provider(name, config)
    if not profile.requires_key:
        key = "not needed"
    elif profile.api_key_env is None:
        key = "no variable"
    else:
        key = "set" if environ.get(profile.api_key_env) else "not set"
    origins = (("built-in", name in BUILTIN_PROVIDERS), ("file", name in config.providers))
    sources = [origin for origin, applies in origins if applies]
    return {
        "name": name,
        "current": name == current,
        "base_url": _safe_url(profile.base_url),
        "api_key_env": profile.api_key_env,
        "key": key,
        "default_model": profile.default_model,
        "dialect": profile.dialect,
        "source": ", ".join(sources),
    }


def _transport(command: str | None, url: str | None) -> dict[str, str]:
    if command is not None:
        return {"transport": "stdio", "target": command}
    return {"transport": "http", "target": _safe_url(url) or "-"}


def _safe_url(url: str | None) -> str | None:
    """A URL without user, password, query or fragment (any of them may hold a secret)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url.split("?")[0]


def _environment_value(value: str | None, shown: bool) -> str:
    if not value:
        return "not set"
    if not shown:
        return "set"
    return (_safe_url(value) or value) if "://" in value else value


def _text(value: Any) -> str:
    if value is None:
        return "(not set)"
    return value_text(value)


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return [
        "  " + "  ".join(cell.ljust(size) for cell, size in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
