"""Swagger UI in headless Chromium: open /docs, authorize with a key, run POST /exec."""

from __future__ import annotations

import json

from tests.gateway import gateways, swagger


def test_swagger_ui_runs_code_from_the_browser(gateway: gateways.Gateway) -> None:
    with swagger.exec_operation(gateway.url) as operation:
        # Each error status shows its own example, not the exec envelope of a NameError.
        unauthorized = operation.locator("tr.response[data-code='401']").inner_text()
        assert "Unauthorized" in unauthorized and "NameError" not in unauthorized
        assert "NameError" in operation.locator("tr.response[data-code='422']").inner_text()
        operation.get_by_role("button", name="Try it out").click()
        body = operation.locator("textarea.body-param__text")
        body.fill(json.dumps({"code": "import bpy\nargs['a'] + len(bpy.data.objects) * 0",
                              "args": {"a": 41.5}}))
        status, answer = swagger.execute(operation)
        assert status == "200"
        result = json.loads(answer)
        assert (result["ok"], result["result"]) == (True, 41.5)
