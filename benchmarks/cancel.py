"""Cancel latency: how long `DELETE /jobs/{id}` takes to stop a running Python loop.

The DELETE answers 200 once the job has stopped (202 if it had not within a second), so
its round trip is the time from asking to stopped, as a client sees it.
"""

from __future__ import annotations

import json
import time

from .targets import connection

LOOP = json.dumps({"code": "while True:\n    pass"}).encode()


def cancel_once(url: str) -> float:
    conn = connection(url)
    try:
        conn.request("POST", "/jobs", body=LOOP, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        job = json.loads(response.read())
        if response.status != 202:
            raise RuntimeError(f"submit failed: {response.status} {job}")
        path = f"/jobs/{job['id']}"
        while job["status"] != "running":
            time.sleep(0.002)
            conn.request("GET", path)
            job = json.loads(conn.getresponse().read())
        time.sleep(0.02)  # let the loop get going
        start = time.perf_counter()
        conn.request("DELETE", path)
        response = conn.getresponse()
        view = json.loads(response.read())
        elapsed = (time.perf_counter() - start) * 1000.0
        if response.status != 200 or view["status"] != "cancelled":
            raise RuntimeError(f"cancel did not stop the job: {response.status} {view['status']}")
        return elapsed
    finally:
        conn.close()


def measure(targets: dict[str, str], repeats: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(repeats):
        for name, url in targets.items():
            samples[name].append(cancel_once(url))
    return samples
