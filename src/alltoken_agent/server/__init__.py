"""The HTTP server front end (FastAPI): sessions, messages as JSON or events, usage.

```python
from pydantic import SecretStr

from alltoken_agent import Gateway
from alltoken_agent.server import AppServer, ServerOptions, bind_socket, create_app, uvicorn_config
from alltoken_agent.store import Store

gateway, store = Gateway.offline(), Store()
options = ServerOptions(keys=(SecretStr("a-long-random-server-key"),))
app = create_app(gateway, store, options=options)
await AppServer(uvicorn_config(app)).serve(sockets=[bind_socket("127.0.0.1", 8000)])
await gateway.aclose()
store.close()
```

``alltoken-agent serve`` does the same from the config file and the environment.
Needs the ``server`` extra: ``pip install 'alltoken-agent[server]'``.
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the alltoken-agent server needs FastAPI: pip install 'alltoken-agent[server]'"
    ) from exc

from alltoken_agent.server.app import create_app
from alltoken_agent.server.auth import owner_id as owner_id
from alltoken_agent.server.errors import ApiError
from alltoken_agent.server.runner import AppServer, bind_socket, uvicorn_config
from alltoken_agent.server.settings import KEYS_ENV, STORE_ENV, ServerOptions
from alltoken_agent.server.settings import is_loopback as is_loopback

__all__ = [
    "KEYS_ENV",
    "STORE_ENV",
    "ApiError",
    "AppServer",
    "ServerOptions",
    "bind_socket",
    "create_app",
    "uvicorn_config",
]
