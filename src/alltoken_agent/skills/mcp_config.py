"""The MCP config entry that starts ``alltoken-agent mcp``, for each runtime's config file.

``plan_mcp_install`` renders the entry and compares it with what the file holds;
``write_mcp_config`` merges it in. Merging never drops another entry or setting: JSON
files are parsed and rewritten, TOML and YAML files are edited in place by the one
editor of each (``_toml_edit``, ``_yaml_edit``: only our own entry is added or replaced,
the file's comments stay), and the result is parsed back and checked before it is
written. A backup of the old file is kept next to it. The entry names the API key's
environment variable in the runtime's own reference syntax; it never holds a key.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from alltoken_agent import UserError
from alltoken_agent._toml_edit import set_table_in_text, table_text
from alltoken_agent._yaml_edit import dumps as yaml_text
from alltoken_agent._yaml_edit import load as load_yaml
from alltoken_agent._yaml_edit import set_mapping_in_text
from alltoken_agent.skills.install import write_atomically
from alltoken_agent.skills.runtimes import RUNTIMES, SERVER_NAME, ConfigFormat, Runtime, get_runtime

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

McpState = Literal["new-file", "add", "same", "replace", "manual"]


@dataclass(frozen=True)
class ServerCommand:
    """How a runtime starts the server: the executable, its arguments, the key's variable."""

    command: str
    args: tuple[str, ...] = ("mcp",)
    key_env: str | None = "ALLTOKEN_API_KEY"
    """The variable holding the provider's key; None for a provider that needs none."""

    @property
    def argv(self) -> list[str]:
        """The whole command line."""
        return [self.command, *self.args]


@dataclass(frozen=True)
class McpPlan:
    """What ``mcp install`` would do for one target."""

    target: str
    title: str
    path: Path
    format: ConfigFormat
    key: tuple[str, ...]
    entry: dict[str, Any]
    snippet: str
    """The entry as the file's format shows it, ready to paste."""
    state: McpState
    """``new-file``, ``add``, ``same`` (already there), ``replace`` (ours differs), or
    ``manual`` (the file cannot be merged safely; ``reason`` says why)."""
    reason: str = ""
    hint: str | None = None
    """The runtime's own command that adds the server, when it has one."""


def server_entry(target: str, server: ServerCommand) -> dict[str, Any]:
    """Our entry in ``target``'s schema (``target`` is a runtime name, ``json`` or ``toml``)."""
    key = server.key_env
    args = list(server.args)
    if target == "opencode":
        entry: dict[str, Any] = {"type": "local", "command": server.argv, "enabled": True}
        if key:
            entry["environment"] = {key: "{env:" + key + "}"}
        return entry
    entry = {"type": "stdio"} if target == "claude" else {}
    entry.update(command=server.command, args=args)
    if not key:
        return entry
    if target in ("codex", "toml"):
        # Codex passes only a default allow-list of variables; env_vars forwards ours.
        entry["env_vars"] = [key]
    elif target in ("claude", "hermes", "openclaw"):
        entry["env"] = {key: "${" + key + "}"}
    return entry


def plan_mcp_install(
    target: str, server: ServerCommand, home: Path, env: Mapping[str, str]
) -> McpPlan:
    """Render the entry for ``target`` and compare it with the config file.

    ``target`` is a runtime name or a path to a ``.json`` file (``mcpServers``, as Claude
    Desktop, Cursor and ``.mcp.json`` use) or a ``.toml`` file (Codex's schema).

    Raises:
        UserError: The target is neither.
    """
    runtime = get_runtime(target)
    if runtime is not None:
        return _plan(
            runtime.name, runtime.title, runtime.mcp_config_path(home, env), runtime, server
        )
    path = Path(target).expanduser()
    if path.suffix == ".json":
        return _plan("json", "MCP client", path, _GENERIC_JSON, server)
    if path.suffix == ".toml":
        return _plan("toml", "MCP client", path, _GENERIC_TOML, server)
    raise UserError(
        f"unknown target {target!r}: use one of {', '.join(RUNTIMES)}, "
        "or a path to a .json (mcpServers) or .toml (mcp_servers) config file"
    )


_GENERIC_JSON = Runtime("json", "MCP client", "", "", "json", ("mcpServers",))
_GENERIC_TOML = Runtime("toml", "MCP client", "", "", "toml", ("mcp_servers",))


def _plan(name: str, title: str, path: Path, runtime: Runtime, server: ServerCommand) -> McpPlan:
    entry = server_entry(name, server)
    key = (*runtime.mcp_key, SERVER_NAME)
    snippet = render(runtime.mcp_format, key, entry)
    hint = None
    if runtime.add_command is not None:
        hint = runtime.add_command.format(name=SERVER_NAME, command=" ".join(server.argv))
    plan = McpPlan(
        name, title, path, runtime.mcp_format, key, entry, snippet, "new-file", hint=hint
    )
    if not path.exists():
        return plan
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return _manual(plan, f"cannot read {path}: {error}")
    if runtime.mcp_format == "json":
        return _plan_json(plan, text)
    if runtime.mcp_format == "toml":
        return _plan_toml(plan, text)
    return _plan_yaml(plan, text)


def _manual(plan: McpPlan, reason: str) -> McpPlan:
    return replace(plan, state="manual", reason=reason)


def _with_state(plan: McpPlan, state: McpState) -> McpPlan:
    return replace(plan, state=state)


def _compare(plan: McpPlan, current: Any) -> McpPlan:
    if current is None:
        return _with_state(plan, "add")
    return _with_state(plan, "same" if current == plan.entry else "replace")


# -- JSON ------------------------------------------------------------------------------


def _plan_json(plan: McpPlan, text: str) -> McpPlan:
    if not text.strip():
        return _with_state(plan, "add")
    try:
        data = json.loads(text)
    except ValueError as error:
        # OpenClaw's file is JSON5 and OpenCode's may carry comments: leave those to people.
        return _manual(plan, f"{plan.path} is not plain JSON ({error.args[0]})")
    return _plan_data(plan, data, "a JSON object", "an object")


def _merge_json(plan: McpPlan, text: str) -> str:
    data: dict[str, Any] = json.loads(text) if text.strip() else {}
    if plan.target == "opencode" and not data:
        data["$schema"] = "https://opencode.ai/config.json"
    return json.dumps(_expected(plan, data), indent=2, ensure_ascii=False) + "\n"


# -- TOML and YAML: edited in place by the one editor of each, comments kept -------------


def _plan_toml(plan: McpPlan, text: str) -> McpPlan:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return _manual(plan, f"{plan.path} is not valid TOML ({error})")
    return _plan_data(plan, data, "a TOML document", "a table")


def _plan_yaml(plan: McpPlan, text: str) -> McpPlan:
    try:
        data = load_yaml(text)
    except ValueError as error:
        return _manual(plan, f"{plan.path} is not valid YAML ({error})")
    return _plan_data(plan, {} if data is None else data, "a YAML mapping", "a mapping")


def _merge_toml(plan: McpPlan, text: str) -> str:
    expected = _expected(plan, tomllib.loads(text))
    return _edited(plan, set_table_in_text(text, plan.key, plan.entry, expected))


def _merge_yaml(plan: McpPlan, text: str) -> str:
    expected = _expected(plan, load_yaml(text) or {})
    return _edited(plan, set_mapping_in_text(text, plan.key, plan.entry, expected))


def _edited(plan: McpPlan, merged: str | None) -> str:
    if merged is None:
        raise UserError(
            f"{plan.path} defines {'.'.join(plan.key)} in a form alltoken-agent does not "
            "edit; add the entry by hand:\n" + plan.snippet
        )
    return merged


def _plan_data(plan: McpPlan, data: Any, document: str, section: str) -> McpPlan:
    """Compare our entry with what the parsed file holds at ``plan.key``."""
    if not isinstance(data, dict):
        return _manual(plan, f"{plan.path} does not hold {document}")
    node: Any = data
    for part in plan.key[:-1]:
        node = node.get(part)
        if node is None:
            return _with_state(plan, "add")
        if not isinstance(node, dict):
            return _manual(plan, f"{part} in {plan.path} is not {section}")
    return _compare(plan, node.get(plan.key[-1]))


def _expected(plan: McpPlan, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the file must read once our entry is in (a copy; ``data`` is kept)."""
    result = copy.deepcopy(data)
    node = result
    for part in plan.key[:-1]:
        if node.get(part) is None:  # absent, or YAML's empty `mcp_servers:`
            node[part] = {}
        node = node[part]
    node[plan.key[-1]] = copy.deepcopy(plan.entry)
    return result


# -- rendering -------------------------------------------------------------------------


def render(fmt: ConfigFormat, key: Sequence[str], entry: Mapping[str, Any]) -> str:
    """The entry nested under ``key`` in ``fmt``, as a pasteable snippet ending in a newline."""
    if fmt == "json":
        nested: Any = dict(entry)
        for part in reversed(key):
            nested = {part: nested}
        return json.dumps(nested, indent=2, ensure_ascii=False) + "\n"
    if fmt == "toml":
        return table_text(key, entry)
    return yaml_text(key, entry)


# -- writing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteOutcome:
    """What ``write_mcp_config`` did."""

    written: bool
    backup: Path | None = None


def write_mcp_config(plan: McpPlan, *, force: bool = False) -> WriteOutcome:
    """Merge the entry into the config file, keeping a backup of the old one.

    Raises:
        UserError: The file cannot be merged safely (``manual``), our entry is there with
            other settings and ``force`` is off, or the file cannot be written.
    """
    if plan.state == "same":
        return WriteOutcome(written=False)
    if plan.state == "manual":
        raise UserError(f"{plan.reason}. Add this by hand:\n{plan.snippet}")
    if plan.state == "replace" and not force:
        raise UserError(
            f"{plan.path} already has a {SERVER_NAME!r} MCP server with other settings; "
            "pass --force to replace it"
        )
    text = plan.path.read_text("utf-8") if plan.path.exists() else ""
    if plan.format == "json":
        merged = _merge_json(plan, text)
    elif plan.format == "toml":
        merged = _merge_toml(plan, text)
    else:
        merged = _merge_yaml(plan, text)
    backup = _backup(plan.path) if plan.path.exists() else None
    mode = plan.path.stat().st_mode & 0o777 if plan.path.exists() else None
    write_atomically(plan.path, merged, mode=mode)
    return WriteOutcome(written=True, backup=backup)


def _backup(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    counter = 1
    while backup.exists():
        counter += 1
        backup = path.with_name(f"{path.name}.bak-{stamp}-{counter}")
    try:
        shutil.copy2(path, backup)
    except OSError as error:
        raise UserError(f"cannot back up {path}: {error.strerror or error}") from None
    return backup
