"""The floor: a stdlib ThreadingHTTPServer that runs the same code in its own request thread.

No main-thread hop, no Blender: what a plain threaded `http.server` costs on this machine
once Nagle's delay is off and each answer goes out in one write.

    python -m benchmarks.floor READY_FILE
"""

from __future__ import annotations

import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FloorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        code = self.rfile.read(int(self.headers["Content-Length"])).decode()
        namespace: dict[str, object] = {}
        result = eval(compile(code, "<exec>", "eval"), namespace)
        body = json.dumps({"ok": True, "result": result, "stdout": "", "stderr": ""}).encode()
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))

    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))

    def log_message(self, *args: object) -> None:
        pass


def serve(ready: str) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FloorHandler)
    server.daemon_threads = True
    Path(ready).write_text(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}))
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1])
