"""Skills for other agent runtimes: the packaged SKILL.md, and installing it and our MCP entry.

```python
from pathlib import Path
from alltoken_agent.skills import install_skill, plan_skill_install

plan = plan_skill_install("claude", Path.home(), {})
install_skill(plan)  # ~/.claude/skills/alltoken-agent/SKILL.md
```
"""

from __future__ import annotations

from alltoken_agent.skills.install import (
    SkillPlan,
    install_skill,
    packaged_skill,
    plan_skill_install,
    skill_path,
    skill_text,
    write_atomically,
)
from alltoken_agent.skills.mcp_config import (
    McpPlan,
    ServerCommand,
    WriteOutcome,
    plan_mcp_install,
    render,
    server_entry,
    write_mcp_config,
)
from alltoken_agent.skills.provider_config import (
    DEFAULT_MODELS,
    PROVIDER_TARGETS,
    ProviderSnippet,
    alltoken_endpoint,
    provider_snippet,
)
from alltoken_agent.skills.runtimes import (
    RUNTIMES,
    SERVER_NAME,
    SKILL_NAME,
    Runtime,
    default_home,
    get_runtime,
    runtime_environ,
)

__all__ = [
    "DEFAULT_MODELS",
    "PROVIDER_TARGETS",
    "RUNTIMES",
    "SERVER_NAME",
    "SKILL_NAME",
    "McpPlan",
    "ProviderSnippet",
    "Runtime",
    "ServerCommand",
    "SkillPlan",
    "WriteOutcome",
    "alltoken_endpoint",
    "default_home",
    "get_runtime",
    "install_skill",
    "packaged_skill",
    "plan_mcp_install",
    "plan_skill_install",
    "provider_snippet",
    "render",
    "runtime_environ",
    "server_entry",
    "skill_path",
    "skill_text",
    "write_atomically",
    "write_mcp_config",
]
