"""What the packaged SKILL.md tells other agents must match what the tools really return."""

from __future__ import annotations

import re

import pytest

from alltoken_agent.mcp import build_server
from alltoken_agent.skills import packaged_skill


def test_the_skill_names_no_invented_error_slugs() -> None:
    text = packaged_skill()
    # 402/429 slugs are undocumented (docs/wire-format.md §3 row 16): agents must branch on status.
    for invented in ("`rate_limited`", "`payment_required`"):
        assert invented not in text
    assert "429" in text and "402" in text and "`status`" in text


@pytest.mark.slow
async def test_the_skill_documents_every_mcp_tool_with_its_arguments() -> None:
    from alltoken_agent import Gateway
    from alltoken_agent.store import Store

    text = packaged_skill()
    async with Gateway.offline() as gateway:
        with Store("sqlite://") as store:
            tools = await build_server(gateway, store).list_tools()
    for tool in tools:
        documented = re.search(rf"`{tool.name}\(([^)]*)\)`", text)
        assert documented is not None, tool.name
        named = {arg.split("=")[0].strip(" ?") for arg in documented.group(1).split(",") if arg}
        assert named == set(tool.input_schema["properties"]), tool.name
