"""Run by Windows CPython: the add-on's service with its blocking pump on the main thread, as
module and background mode run it, without Blender (jobs are plain Python). Listens on
127.0.0.1, port 0; prints `{"port": N}` once it answers, and writes the ready file.

    python.exe serve.py WORKDIR READY_FILE
"""

from __future__ import annotations

import json
import logging
import sys

from blender_http_addon.config import Config
from blender_http_addon.pumps import blocking
from blender_http_addon.service import Service


def main() -> None:
    workdir, ready = sys.argv[1:3]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    service = Service(Config(host="127.0.0.1", port=0, workdir=workdir, ready_file=ready),
                      mode="module", blender_version="none (Windows test)")
    service.start()
    print(json.dumps({"port": service.port, "pid_platform": sys.platform}), flush=True)
    blocking.run_blocking(service)


if __name__ == "__main__":
    main()
