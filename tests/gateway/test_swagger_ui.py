"""Swagger UI in headless Chromium: open /docs, authorize with a key, run POST /exec."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import missing
from tests.gateway import gateways
from tests.gateway.conftest import KEY

CHROMIUM = "/usr/bin/chromium"


def test_swagger_ui_runs_code_from_the_browser(gateway: gateways.Gateway) -> None:
    if shutil.which(CHROMIUM) is None:
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(gateway.url + "/docs")
            page.locator("button.btn.authorize").first.click()
            page.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill(KEY)
            page.locator(".modal-ux button.modal-btn.auth.authorize").click()
            page.locator(".modal-ux button.btn-done").click()

            operation = page.locator("#operations-exec-exec_code_exec_post")
            operation.locator(".opblock-summary").click()
            # Each error status shows its own example, not the exec envelope of a NameError.
            unauthorized = operation.locator("tr.response[data-code='401']").inner_text()
            assert "Unauthorized" in unauthorized and "NameError" not in unauthorized
            assert "NameError" in operation.locator("tr.response[data-code='422']").inner_text()
            operation.get_by_role("button", name="Try it out").click()
            body = operation.locator("textarea.body-param__text")
            body.fill(json.dumps({"code": "import bpy\nargs['a'] + len(bpy.data.objects) * 0",
                                  "args": {"a": 41.5}}))
            operation.get_by_role("button", name="Execute").click()
            status = operation.locator(".live-responses-table tbody td.response-col_status").first
            status.wait_for(timeout=30_000)
            assert status.inner_text().strip() == "200"
            answer = operation.locator(
                ".live-responses-table tbody td.response-col_description pre.microlight").first
            result = json.loads(answer.inner_text())
            assert (result["ok"], result["result"]) == (True, 41.5)
        finally:
            browser.close()
