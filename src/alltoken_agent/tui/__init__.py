"""The terminal UI (Textual): ``alltoken-agent tui``.

Build the app with :func:`make_app` from core objects (a gateway, a store), the way
the CLI and the tests do:

```python
from alltoken_agent import Gateway
from alltoken_agent.store import Store
from alltoken_agent.tui import make_app

make_app(Gateway.offline(), store=Store(), close_gateway=True).run()
```
"""

from __future__ import annotations

try:
    import textual  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the terminal UI needs Textual, which is not installed: pip install 'alltoken-agent[tui]'"
    ) from error

from alltoken_agent.tui.app import ChatApp
from alltoken_agent.tui.factory import make_app

__all__ = ["ChatApp", "make_app"]
