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

from alltoken_agent.mcp.errors import error_code, error_fields, error_result
from alltoken_agent.mcp.server import INSTRUCTIONS, SERVER_NAME, build_server
from alltoken_agent.mcp.transport import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    LOOPBACK_HOSTS,
    MCP_PATH,
    endpoint_url,
    serve_http,
    serve_stdio,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "INSTRUCTIONS",
    "LOOPBACK_HOSTS",
    "MCP_PATH",
    "SERVER_NAME",
    "build_server",
    "endpoint_url",
    "error_code",
    "error_fields",
    "error_result",
    "serve_http",
    "serve_stdio",
]
