"""The Model Context Protocol (MCP) for agents: JSON-RPC over POST /mcp, the one set of
tool definitions (pure data, also served by `blender-http mcp` and the gateway) and the
calls that run them as jobs."""
