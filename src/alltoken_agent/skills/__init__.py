"""Skills for other agent runtimes: the packaged SKILL.md, and installing it and our MCP entry.

```python
from pathlib import Path
from alltoken_agent.skills import install_skill, plan_skill_install

plan = plan_skill_install("claude", Path.home(), {})
install_skill(plan)  # ~/.claude/skills/alltoken-agent/SKILL.md
```
"""

from __future__ import annotations

from alltoken_agent.skills.install import SkillPlan, install_skill, plan_skill_install
from alltoken_agent.skills.install import packaged_skill as packaged_skill
from alltoken_agent.skills.install import skill_text as skill_text
from alltoken_agent.skills.mcp_config import (
    McpPlan,
    WriteOutcome,
    plan_mcp_install,
    write_mcp_config,
)
from alltoken_agent.skills.mcp_config import ServerCommand as ServerCommand
from alltoken_agent.skills.provider_config import (
    PROVIDER_TARGETS,
    ProviderSnippet,
    provider_snippet,
)
from alltoken_agent.skills.runtimes import RUNTIMES, SKILL_NAME, Runtime, get_runtime
from alltoken_agent.skills.runtimes import default_home as default_home
from alltoken_agent.skills.runtimes import runtime_environ as runtime_environ

__all__ = [
    "PROVIDER_TARGETS",
    "RUNTIMES",
    "SKILL_NAME",
    "McpPlan",
    "ProviderSnippet",
    "Runtime",
    "SkillPlan",
    "WriteOutcome",
    "get_runtime",
    "install_skill",
    "plan_mcp_install",
    "plan_skill_install",
    "provider_snippet",
    "write_mcp_config",
]
