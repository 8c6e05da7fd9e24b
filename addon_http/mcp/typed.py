"""What of typed results a client's protocol version knows: outputSchema, structuredContent
and resource_link content came in 2025-06-18. An older client (and a request naming no
version, which the spec says to take as 2025-03-26) gets tools without outputSchema and
results without them: the same JSON as text, the file named in it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The first protocol version with outputSchema, structuredContent and resource_link.
TYPED_SINCE = "2025-06-18"
# What a request naming no version speaks (the transport spec of 2025-06-18).
UNNAMED = "2025-03-26"


def knows_types(version: str) -> bool:
    # Versions are dates, YYYY-MM-DD: their order is the strings'.
    return version >= TYPED_SINCE


def listed(definitions: Iterable[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    """tools/list's tools for a client of version."""
    if knows_types(version):
        return list(definitions)
    return [{key: value for key, value in tool.items() if key != "outputSchema"} for tool in definitions]


def for_version(result: dict[str, Any], version: str) -> dict[str, Any]:
    """A CallToolResult as a client of version takes it."""
    if knows_types(version):
        return result
    out = {key: value for key, value in result.items() if key != "structuredContent"}
    out["content"] = [item for item in result["content"] if item.get("type") != "resource_link"]
    return out
