"""Who may use the dashboard: its access token, the Host check and the CSRF checks, as ASGI middleware.

Access, as notebook servers do it: a random token in the printed URL; the first visit with it
sets a cookie.  Served on another host than loopback, every request must carry the token itself
(``X-Specflow-Token`` header or ``token`` query), a cookie is not enough.  Every POST needs the
page's CSRF token in ``X-CSRF-Token``, a JSON body, and a same-origin ``Origin`` (when sent); on
loopback the ``Host`` must be a loopback name, which defeats DNS rebinding.  ``Guard`` checks all
of it before any route of ``specflow.ui.app`` runs.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from specflow.structs import Struct

COOKIE = "specflow_token"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Access(Struct, frozen=True):
    """The secrets of one server: the access token (in the URL) and the CSRF token (in pages)."""

    token: str
    csrf: str
    strict: bool
    """True when served on another host than loopback: the token on every request."""

    @classmethod
    def new(cls, host: str) -> Access:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), host not in LOOPBACK)


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def refusal(status: int, message: str, fix: str) -> JSONResponse:
    """A refused request: ``status``, with what was wrong and the fix as JSON."""
    return JSONResponse({"error": message, "fix": fix}, status_code=status)


class Guard:
    """ASGI middleware: the token, the Host check and the CSRF checks, before any route runs."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self.check(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        query_token = request.query_params.get("token")
        if request.method == "GET" and _same(query_token, self.access.token) and not self.access.strict:
            # first visit: keep the token in a cookie and take it out of the address bar
            rest = [(k, v) for k, v in parse_qs(request.url.query).items() if k != "token"]
            # one leading slash: '//host' would send the browser to another site
            target = "/" + request.url.path.lstrip("/") + ("?" + urlencode(rest, doseq=True) if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(COOKIE, self.access.token, httponly=True, samesite="strict", path="/")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def check(self, request: Request) -> Response | None:
        if not self.access.strict and (request.url.hostname or "") not in LOOPBACK:
            return refusal(
                403,
                f"refused a request for host {request.url.hostname!r}: this dashboard answers on loopback only",
                "open the address 'specflow ui' printed (http://127.0.0.1:PORT/...)",
            )
        if request.method == "GET" and (request.url.path.startswith("/static/") or request.url.path == "/code.css"):
            return None  # the app's own scripts and styles: no secret in them, and a page cannot add a token
        given = request.headers.get("x-specflow-token") or request.query_params.get("token")
        if not self.access.strict and given is None:
            given = request.cookies.get(COOKIE)
        if not _same(given, self.access.token):
            return refusal(
                401,
                "missing or wrong access token"
                + (" (needed on every request on this host)" if self.access.strict else ""),
                "open the full address 'specflow ui' printed, with its ?token=...",
            )
        if request.method in ("GET", "HEAD"):
            return None
        return self.check_forgery(request)

    def check_forgery(self, request: Request) -> Response | None:
        origin = request.headers.get("origin")
        expected = f"{request.url.scheme}://{request.url.netloc}"
        if origin is not None and origin != expected:
            return refusal(403, f"refused a request from another site ({origin})", "use the dashboard's own page")
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return refusal(403, f"refused a {site} request", "use the dashboard's own page")
        if not _same(request.headers.get("x-csrf-token"), self.access.csrf):
            return refusal(403, "missing or wrong CSRF token", "reload the dashboard's page and try again")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return refusal(415, "expected a JSON body", "send Content-Type: application/json")
        return None


__all__ = ["COOKIE", "LOOPBACK", "Access", "Guard", "refusal"]
