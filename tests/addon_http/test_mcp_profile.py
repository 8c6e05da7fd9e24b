"""The tools one /mcp request is offered: the header the gateway sets for read-only keys only
narrows the server's selection."""

from __future__ import annotations

import pytest

from blender_http_addon.errors import HttpError
from blender_http_addon.http.head import Headers
from blender_http_addon.mcp import profile, tools


def test_the_header_narrows_and_never_widens() -> None:
    server = tools.Selection(exclude=("render",))
    assert profile.for_request(server, Headers()) is server
    narrowed = profile.for_request(server, Headers({tools.READ_ONLY_HEADER.lower(): "1"}))
    offered = {tool["name"] for tool in narrowed.tools}
    assert offered == set(tools.NAMES) - set(tools.READ_ONLY_LEFT_OUT) - {"render"}
    assert "read-only API key" in (narrowed.refusal("exec_python") or "")
    read_only_server = tools.Selection(read_only=True)
    assert profile.for_request(read_only_server, Headers({tools.READ_ONLY_HEADER.lower(): "1"})) \
        is read_only_server
    assert "BLENDER_HTTP_MCP_READ_ONLY" in (read_only_server.refusal("exec_python") or "")


@pytest.mark.parametrize("value", ["0", "", "true", "yes"])
def test_any_other_value_is_400(value: str) -> None:
    with pytest.raises(HttpError) as caught:
        profile.for_request(tools.Selection(), Headers({tools.READ_ONLY_HEADER.lower(): value}))
    assert caught.value.status == 400
