"""httpx, imported without its command-line client; imported first by the packages using it.

httpx imports its own command-line client (click, rich and pygments, about a third of
httpx's import time: ~60 ms here) whenever those happen to be installed, and they always
are beside us (Typer needs click and rich). It falls back to a stub when that import
fails, and nothing of ours runs httpx's client. So while httpx is imported here, the
import of ``httpx._main`` is made to fail; afterwards it imports as usual, for a caller
that wants httpx's client in the same process. A process that imported httpx before us
keeps what it has. The CLI blocks ``httpx._main`` for its whole process
(``cli/options.py``): it imports nothing that would want it.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx  # noqa: F401
    finally:
        if "httpx._main" in sys.modules and sys.modules["httpx._main"] is None:
            del sys.modules["httpx._main"]
