"""Swagger UI in headless Chromium, for the tests that drive it: the page opened and
authorized with a key, POST /exec's operation unfolded, and a run's status and answer."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import missing
from tests.gateway.conftest import KEY

CHROMIUM = "/usr/bin/chromium"


@contextlib.contextmanager
def exec_operation(gateway_url: str) -> Iterator[Any]:
    """The locator of POST /exec's operation on /docs, unfolded, after authorizing with KEY."""
    if shutil.which(CHROMIUM) is None:
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(gateway_url + "/docs")
            page.locator("button.btn.authorize").first.click()
            page.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill(KEY)
            page.locator(".modal-ux button.modal-btn.auth.authorize").click()
            page.locator(".modal-ux button.btn-done").click()
            operation = page.locator("#operations-exec-exec_code_exec_post")
            operation.locator(".opblock-summary").click()
            yield operation
        finally:
            browser.close()


def execute(operation: Any) -> tuple[str, str]:
    """Press Execute; the status and the answer's text once they show."""
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tbody td.response-col_status").first
    status.wait_for(timeout=30_000)
    answer = operation.locator(".live-responses-table tbody td.response-col_description pre.microlight").first
    return status.inner_text().strip(), answer.inner_text()
