"""The dashboard's web app (Starlette): pages, a JSON API over ``Hub``/``Change``, live updates.

Pages are static shells (``static/*.html``) filled by plain JavaScript from the JSON API; live
updates arrive as server-sent events from ``specflow.ui.feed``.  Phases started here run in
their own background process (``Change.advance_in_background``): closing the page or stopping
the server never stops them.

Access, as notebook servers do it: a random token in the printed URL; the first visit with it
sets a cookie.  Served on another host than loopback, every request must carry the token itself
(``X-Specflow-Token`` header or ``token`` query), a cookie is not enough.  Every POST needs the
page's CSRF token in ``X-CSRF-Token``, a JSON body, and a same-origin ``Origin`` (when sent); on
loopback the ``Host`` must be a loopback name, which defeats DNS rebinding.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from specflow.changestate import records
from specflow.changestate.lock import ChangeLock
from specflow.engine.background import check_trigger
from specflow.engine.change import Change
from specflow.engine.events import read_prompt
from specflow.engine.hub import Hub
from specflow.errors import ChangeIdError, ChangeNotFoundError, LockedError, SpecflowError
from specflow.structs import Struct
from specflow.ui.feed import Feed, Message, board_data
from specflow.ui.notify import Notifier
from specflow.ui.render import code_css, markdown_html, split_patch
from specflow.workspace.git import who_am_i
from specflow.workspace.workspaces import for_change

STATIC = Path(__file__).parent / "static"
COOKIE = "specflow_token"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
EVENTS_ON_PAGE = 400
SSE_PING_S = 15.0
MAX_BODY = 64 * 1024

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


def _refusal(status: int, message: str, fix: str) -> JSONResponse:
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
            return _refusal(
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
            return _refusal(
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
            return _refusal(403, f"refused a request from another site ({origin})", "use the dashboard's own page")
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return _refusal(403, f"refused a {site} request", "use the dashboard's own page")
        if not _same(request.headers.get("x-csrf-token"), self.access.csrf):
            return _refusal(403, "missing or wrong CSRF token", "reload the dashboard's page and try again")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _refusal(415, "expected a JSON body", "send Content-Type: application/json")
        return None


# -- helpers --------------------------------------------------------------------------------------


def _error(exc: SpecflowError) -> JSONResponse:
    status = 404 if isinstance(exc, ChangeNotFoundError) else 400 if isinstance(exc, ChangeIdError) else 409
    if isinstance(exc, LockedError):
        status = 423
    return JSONResponse({"error": exc.message, "fix": exc.fix}, status_code=status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise SpecflowError(f"the request body is {len(raw)} bytes; at most {MAX_BODY} are accepted")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise SpecflowError("the request body is not JSON", fix="send a JSON object") from None
    if not isinstance(data, dict):
        raise SpecflowError("the request body is not a JSON object", fix="send a JSON object")
    return data


def _note(data: dict[str, Any]) -> str | None:
    note = data.get("note")
    if note is None or note == "":
        return None
    if not isinstance(note, str) or len(note) > 4000:
        raise SpecflowError("'note' must be text of at most 4000 characters")
    return note


ARTIFACTS = ("exploration.md", "proposal.md", "design.md", "tasks.md")


def _artifacts(change: Change) -> list[dict[str, str]]:
    out = []
    paths = [change.dir / name for name in ARTIFACTS]
    specs = change.dir / "specs"
    if specs.is_dir():
        paths += sorted(specs.rglob("*.md"))
    for path in paths:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            out.append({"name": path.relative_to(change.dir).as_posix(), "html": markdown_html(text)})
    return out


def _checkpoints(change: Change) -> list[dict[str, Any]]:
    try:
        checkpoints = for_change(change).checkpoints()
    except SpecflowError:
        return []
    return [
        {"number": c.number, "time": c.time, "phase": c.phase, "state": c.state, "reason": c.reason}
        for c in reversed(checkpoints)
    ]


# -- the app --------------------------------------------------------------------------------------


class Dashboard:
    """The routes, over one hub."""

    def __init__(self, hub: Hub, access: Access, feed: Feed) -> None:
        self.hub = hub
        self.access = access
        self.feed = feed

    def change(self, request: Request) -> Change:
        return self.hub.change(str(request.path_params["id"]))

    # pages

    def page(self, name: str, change_id: str = "") -> HTMLResponse:
        meta = (
            f'<meta name="specflow-csrf" content="{html.escape(self.access.csrf)}">'
            f'<meta name="specflow-token" content="{html.escape(self.access.token)}">'
            f'<meta name="specflow-strict" content="{"1" if self.access.strict else ""}">'
            f'<meta name="specflow-change" content="{html.escape(change_id)}">'
        )
        text = (STATIC / f"{name}.html").read_text(encoding="utf-8").replace("<!--META-->", meta)
        headers = {
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        return HTMLResponse(text, headers=headers)

    def board_page(self, request: Request) -> Response:
        return self.page("board")

    def change_page(self, request: Request) -> Response:
        try:
            change = self.change(request)
        except SpecflowError as exc:
            return _error(exc)
        return self.page("change", change.id)

    def code_css(self, request: Request) -> Response:
        return PlainTextResponse(code_css(), media_type="text/css")

    # reading

    def board(self, request: Request) -> Response:
        return JSONResponse(board_data(self.hub, self.hub.board()))

    def detail(self, request: Request) -> Response:
        try:
            change = self.change(request)
            reader = change.events()
            events = reader.tail(EVENTS_ON_PAGE)
            card = next((c for c in self.hub.board().cards if c.id == change.id), None)
            return JSONResponse(
                {
                    "id": change.id,
                    "card": card.to_dict() if card else None,
                    "status": change.status(),
                    "timeline": change.timeline().to_dict(),
                    "artifacts": _artifacts(change),
                    "checkpoints": _checkpoints(change),
                    "events": [e.to_dict() for e in events],
                }
            )
        except SpecflowError as exc:
            return _error(exc)

    def diff(self, request: Request) -> Response:
        try:
            change = self.change(request)
            repos = change.diff_data()
        except SpecflowError as exc:
            return _error(exc)
        out = []
        for repo in repos:
            files = split_patch(str(repo.get("patch") or ""))
            out.append(
                {
                    "repo": repo["repo"],
                    "branch": repo["branch"],
                    "base": repo["base"],
                    "branch_exists": repo["branch_exists"],
                    "files": [f.to_dict() for f in files],
                }
            )
        return JSONResponse({"change": change.id, "repos": out})

    def prompt(self, request: Request) -> Response:
        try:
            change = self.change(request)
        except SpecflowError as exc:
            return _error(exc)
        text = read_prompt(self.hub.root, change.id, str(request.path_params["sha"]))
        if text is None:
            return _refusal(404, "this attempt's prompt was not kept", "prompts are kept from this version on")
        return JSONResponse({"prompt": text})

    # acting

    async def act(self, request: Request) -> Response:
        action = str(request.path_params["action"])
        handler = ACTIONS.get(action)
        if handler is None:
            return _refusal(404, f"unknown action {action!r}", "actions: " + ", ".join(ACTIONS))
        try:
            data = await _body(request)
            change = self.change(request)
            result = await asyncio.to_thread(handler, change, data)
        except SpecflowError as exc:
            return _error(exc)
        return JSONResponse({"ok": True, "action": action, **result})

    async def stream(self, request: Request) -> Response:
        only = request.query_params.get("change") or None
        queue = self.feed.subscribe()

        async def messages() -> AsyncIterator[str]:
            last_card: dict[str, Any] | None = None
            try:
                yield "retry: 1000\n\n"
                if self.feed.board is not None and only is None:
                    yield _sse(Message("board", self.feed.board))
                while True:
                    try:
                        message = await asyncio.wait_for(queue.get(), SSE_PING_S)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield ": ping\n\n"
                        continue
                    if message is None:
                        return
                    if only is None:
                        yield _sse(message)
                    elif message.name == "board":
                        # a change's page hears of its own card only, when it moved
                        card = next((c for c in message.data["cards"] if c["id"] == only), None)
                        if card != last_card:
                            last_card = card
                            yield _sse(Message("card", {"card": card}, only))
                    elif message.change_id == only:
                        yield _sse(message)
            finally:
                self.feed.unsubscribe(queue)

        return StreamingResponse(
            messages(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def _sse(message: Message) -> str:
    return f"event: {message.name}\ndata: {json.dumps(message.data, separators=(',', ':'))}\n\n"


# each action runs in a worker thread; the ones that run a phase start it in the background


def _approve(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    approval = change.approve(by=data.get("by") if isinstance(data.get("by"), str) else None, note=_note(data))
    return {"approval": approval}


def _advance(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    return {"run": change.advance_in_background(fresh=bool(data.get("fresh"))).to_dict()}


def _reject(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    note = _note(data)
    change.require_record()
    check_trigger(change, "reject")  # the note is recorded only for a rejection that can happen
    with ChangeLock(change.hub.root, change.id, command="reject"):
        records.record_rejection(change.dir, change.require_record(), by=who_am_i(change.hub.root), note=note)
    return {"run": change.advance_in_background(trigger="reject").to_dict()}


def _cancel(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    return {"pid": change.cancel()}


def _merge(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    merges = change.merge()
    return {"merges": [m.to_dict() for m in merges]}


def _revert(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    number = data.get("checkpoint")
    if not isinstance(number, int) or isinstance(number, bool):
        raise SpecflowError("'checkpoint' must be a checkpoint number", fix="pick one from the change's checkpoints")
    result = change.revert(number)
    return {"revert": result.to_dict(), "summary": result.summary()}


ACTIONS: dict[str, Callable[[Change, dict[str, Any]], dict[str, Any]]] = {
    "approve": _approve,
    "reject": _reject,
    "advance": _advance,
    "retry": _advance,
    "cancel": _cancel,
    "merge": _merge,
    "revert": _revert,
}


def build_app(hub: Hub, access: Access, *, notifier: Notifier | None = None) -> Starlette:
    """The dashboard of ``hub`` behind ``access``; its live feed runs while the app does."""
    feed = Feed(hub, notifier)
    dash = Dashboard(hub, access, feed)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # the first board reads every history; done before the first page asks, it is served warm
        with contextlib.suppress(SpecflowError, OSError, ValueError):
            await asyncio.to_thread(feed.refresh_board)
        feed.start()
        try:
            yield
        finally:
            await feed.stop()

    routes = [
        Route("/", dash.board_page),
        Route("/changes/{id}", dash.change_page),
        Route("/code.css", dash.code_css),
        Route("/api/board", dash.board),
        Route("/api/stream", dash.stream),
        Route("/api/changes/{id}", dash.detail),
        Route("/api/changes/{id}/diff", dash.diff),
        Route("/api/changes/{id}/prompts/{sha}", dash.prompt),
        Route("/api/changes/{id}/{action}", dash.act, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.feed = feed
    app.add_middleware(Guard, access=access)
    return app


__all__ = ["ACTIONS", "Access", "Dashboard", "Guard", "build_app"]
