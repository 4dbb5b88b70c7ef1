"""The wire to MCP tool servers: their settings and a live connection through the SDK.

The agent's MCP *client* side, below the core as ``gateway/`` is: ``servers.py`` holds
what a server is (a command or a URL, timeouts, from the config file) and
``connection.py`` everything that touches the official ``mcp`` SDK (starting a server,
the handshake, listing and calling tools), imported only when a server starts. How
those tools become an agent's ``Tool`` objects is the agent's (``agent/mcp_client.py``).
Our MCP *server*, a front end, is ``alltoken_agent/mcp/``.
"""
