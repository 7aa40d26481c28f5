"""Serving the dashboard with uvicorn: the one module that imports it."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from specflow.engine.hub import Hub
from specflow.errors import ServerError
from specflow.structs import Struct
from specflow.ui import local
from specflow.ui.access import Access
from specflow.ui.app import build_app
from specflow.ui.notify import Notifier

#: Seconds an open live stream may delay a stop.
GRACEFUL_S = 1


class Address(Struct, frozen=True):
    """Where the dashboard is served, and the URL that opens it (with its token)."""

    host: str
    port: int
    token: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/?token={self.token}"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one), or a ``ServerError`` saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerError(
            f"cannot serve on {host}:{port}: {exc.strerror or exc}",
            fix="pick another port with --port N (0 for any free one), or stop what uses it",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(hub: Hub, host: str, port: int, *, on_ready: Callable[[Address], None] | None = None) -> None:
    """Serve ``hub``'s dashboard until interrupted; ``on_ready`` gets the address once it listens."""
    access = Access.new(host)
    sock = bind(host, port)
    address = Address(host, sock.getsockname()[1], access.token)
    app = build_app(hub, access, notifier=Notifier.for_hub(hub))
    config = uvicorn.Config(
        app, log_level="warning", timeout_graceful_shutdown=GRACEFUL_S, lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    # a stop asked for before uvicorn listens for signals itself (the URL is out, a script may
    # already send SIGTERM) must still stop it: the server sees it on its first tick
    previous = _stop_on_signals(server)
    local.announce(hub.root, address.url)
    try:
        if on_ready is not None:
            on_ready(address)
        server.run(sockets=[sock])
    finally:
        local.withdraw(hub.root)
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_on_signals(server: uvicorn.Server) -> dict[int, Any]:
    """SIGINT and SIGTERM ask ``server`` to stop; returns the handlers they had (main thread only)."""

    def stop(signum: int, frame: Any) -> None:
        server.should_exit = True

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, stop)
    return previous


__all__ = ["Address", "bind", "serve"]
