"""The Greeter API: a small JSON service on the Python standard library.

Run it with ``python service.py`` (port 8080, or ``$PORT``).  ``route`` holds every answer and
knows nothing about sockets, so the tests call it directly.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Answer = tuple[int, dict[str, Any]]


def route(method: str, target: str) -> Answer:
    """The status and JSON body answering ``method target`` (e.g. ``GET /health``)."""
    url = urlsplit(target)
    if method == "GET" and url.path == "/health":
        return 200, {"status": "ok"}
    return 404, {"error": f"no route for {method} {url.path}"}


class Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into ``route`` calls."""

    def do_GET(self) -> None:  # noqa: N802 (the name http.server wants)
        status, body = route("GET", self.path)
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    print(f"Greeter API on http://127.0.0.1:{port}")
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
