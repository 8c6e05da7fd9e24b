"""pumps: the main loop (every platform's blocking pump), run here on a thread."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from blender_http_addon.config import Config
from blender_http_addon.pumps.main_loop import MainLoop
from blender_http_addon.service import Service


def test_the_main_loop_runs_jobs_on_its_thread_until_shutdown(tmp_path: Path) -> None:
    service = Service(Config(port=0, workdir=str(tmp_path)), mode="module")
    service.start()
    pump = threading.Thread(target=MainLoop(service).run, daemon=True)
    pump.start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as http:
            assert http.post("/exec", content=b"import threading\nthreading.get_ident()").json()[
                "result"] == pump.ident
            assert http.post("/shutdown").status_code == 202
        pump.join(30)
        assert not pump.is_alive()
    finally:
        service.stop()
