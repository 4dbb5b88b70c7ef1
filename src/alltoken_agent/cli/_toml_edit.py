"""The TOML editor ``config set`` and ``config show`` use: the core's one editor.

It lives in ``alltoken_agent._toml_edit`` so that ``skills/`` (``mcp install``) edits
TOML the same way without importing the CLI.
"""

from __future__ import annotations

from alltoken_agent._toml_edit import dumps, key_text, set_in_text, value_text

__all__ = ["dumps", "key_text", "set_in_text", "value_text"]
