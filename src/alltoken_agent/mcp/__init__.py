"""MCP server front end: alltoken-agent's agent, models and ledger as MCP tools.

```python
from alltoken_agent import Gateway
from alltoken_agent.mcp import build_server, serve_stdio
from alltoken_agent.store import Store

async with Gateway() as gateway:
    with Store() as store:
        await serve_stdio(build_server(gateway, store))
```

Inside this package ``import mcp`` always means the official SDK (imports are absolute).
"""

from __future__ import annotations

try:
    import mcp as _sdk  # noqa: F401  (the SDK, checked here so the message names the extra)
except ModuleNotFoundError as error:  # pragma: no cover - depends on the installation
    if error.name != "mcp":
        raise
    raise ModuleNotFoundError(
        "the MCP server needs the official mcp SDK: pip install 'alltoken-agent[mcp]'",
        name=error.name,
    ) from error

from alltoken_agent.mcp.server import SERVER_NAME, build_server
from alltoken_agent.mcp.transport import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    MCP_PATH,
    serve_http,
    serve_stdio,
)
from alltoken_agent.mcp.transport import LOOPBACK_HOSTS as LOOPBACK_HOSTS

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MCP_PATH",
    "SERVER_NAME",
    "build_server",
    "serve_http",
    "serve_stdio",
]
