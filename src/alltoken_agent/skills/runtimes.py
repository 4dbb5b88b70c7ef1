"""Where each agent runtime looks for skills and keeps its MCP servers.

Locations are the user-level ones each runtime documents (the sources are in
``Runtime.docs``); every path hangs off a home folder, so ``--home DIR`` (and tests)
can move all of them. Without ``--home``, ``CODEX_HOME`` and ``HERMES_HOME`` are
honoured the way Codex and Hermes honour them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ConfigFormat = Literal["json", "toml", "yaml"]

SKILL_NAME = "alltoken-agent"
"""The skill's folder and frontmatter name (lowercase, digits and hyphens)."""
SERVER_NAME = "alltoken-agent"
"""The name of our entry in a runtime's MCP server list."""


@dataclass(frozen=True)
class Runtime:
    """One agent runtime alltoken-agent can install into."""

    name: str
    title: str
    skills_dir: str
    """The user-level skills root, relative to the runtime's root folder."""
    mcp_config: str
    """The user-level MCP config file, relative to the runtime's root folder."""
    mcp_format: ConfigFormat
    mcp_key: tuple[str, ...]
    """Where servers live inside the config: ``("mcpServers",)``, ``("mcp", "servers")``."""
    root_env: str | None = None
    """Environment variable that moves the runtime's root (``CODEX_HOME``)."""
    root: str = ""
    """The runtime's root folder relative to home, when ``root_env`` is unset."""
    add_command: str | None = None
    """The runtime's own command to register a stdio server, when it has one."""
    docs: tuple[str, ...] = ()

    def root_dir(self, home: Path, environ: Mapping[str, str]) -> Path:
        """The runtime's root folder (``root_env`` wins when set and home was not given)."""
        if self.root_env and environ.get(self.root_env):
            return Path(environ[self.root_env]).expanduser()
        return home / self.root if self.root else home

    def skill_path(self, home: Path, environ: Mapping[str, str]) -> Path:
        """Where this runtime finds our SKILL.md."""
        skills = self.skills_dir
        base = home if skills.startswith("~/") else self.root_dir(home, environ)
        return base / skills.removeprefix("~/") / SKILL_NAME / "SKILL.md"

    def mcp_config_path(self, home: Path, environ: Mapping[str, str]) -> Path:
        """The MCP config file this runtime reads."""
        return self.root_dir(home, environ) / self.mcp_config


RUNTIMES: dict[str, Runtime] = {
    "claude": Runtime(
        name="claude",
        title="Claude Code",
        skills_dir=".claude/skills",
        mcp_config=".claude.json",
        mcp_format="json",
        mcp_key=("mcpServers",),
        add_command="claude mcp add --scope user {name} -- {command}",
        docs=(
            "https://code.claude.com/docs/en/skills",
            "https://code.claude.com/docs/en/mcp",
        ),
    ),
    "codex": Runtime(
        name="codex",
        title="Codex CLI",
        # Skills are not under CODEX_HOME: Codex reads $HOME/.agents/skills.
        skills_dir="~/.agents/skills",
        mcp_config="config.toml",
        mcp_format="toml",
        mcp_key=("mcp_servers",),
        root_env="CODEX_HOME",
        root=".codex",
        add_command="codex mcp add {name} -- {command}",
        docs=(
            "https://developers.openai.com/codex/skills",
            "https://developers.openai.com/codex/mcp",
        ),
    ),
    "opencode": Runtime(
        name="opencode",
        title="OpenCode",
        skills_dir="skills",
        mcp_config="opencode.json",
        mcp_format="json",
        mcp_key=("mcp",),
        root=".config/opencode",
        docs=("https://opencode.ai/docs/skills", "https://opencode.ai/docs/mcp-servers"),
    ),
    "hermes": Runtime(
        name="hermes",
        title="Hermes Agent",
        skills_dir="skills",
        mcp_config="config.yaml",
        mcp_format="yaml",
        mcp_key=("mcp_servers",),
        root_env="HERMES_HOME",
        root=".hermes",
        docs=(
            "https://hermes-agent.nousresearch.com/docs/user-guide/features/skills",
            "https://hermes-agent.nousresearch.com/docs/user-guide/features/mcp",
        ),
    ),
    "openclaw": Runtime(
        name="openclaw",
        title="OpenClaw",
        skills_dir="skills",
        mcp_config="openclaw.json",
        mcp_format="json",
        mcp_key=("mcp", "servers"),
        root=".openclaw",
        docs=(
            "https://docs.openclaw.ai/tools/creating-skills",
            "https://docs.openclaw.ai/cli/mcp",
        ),
    ),
}
"""Every runtime a ``--target`` may name."""


def get_runtime(name: str) -> Runtime | None:
    """The runtime called ``name`` (case-insensitive), or None."""
    return RUNTIMES.get(name.strip().lower())


def default_home() -> Path:
    """The user's home folder."""
    return Path.home()


def runtime_environ(home_given: bool) -> Mapping[str, str]:
    """The environment runtime roots are read from: none when ``--home`` was given."""
    return {} if home_given else os.environ
