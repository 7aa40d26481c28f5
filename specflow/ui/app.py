"""The dashboard's web app (Starlette): pages, a JSON API over ``Hub``/``Change``, live updates.

Pages are static shells (``static/*.html``) filled by plain JavaScript from the JSON API; live
updates arrive as server-sent events from ``specflow.ui.feed``.  Phases started here run in
their own background process (``Change.advance_in_background``): closing the page or stopping
the server never stops them.  What each action does is ``specflow.ui.buttons``'; who may ask,
``specflow.ui.access``' (its ``Guard`` runs before every route).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from specflow.engine.change import Change
from specflow.engine.events import read_prompt
from specflow.engine.hub import Hub
from specflow.errors import ChangeIdError, ChangeNotFoundError, LockedError, SpecflowError
from specflow.ui.access import Access, Guard, refusal
from specflow.ui.buttons import ACTIONS
from specflow.ui.feed import Feed, Message, board_data
from specflow.ui.notify import Notifier
from specflow.ui.render import code_css, markdown_html, split_patch
from specflow.workspace.workspaces import for_change

STATIC = Path(__file__).parent / "static"
EVENTS_ON_PAGE = 400
SSE_PING_S = 15.0
MAX_BODY = 64 * 1024


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
            return refusal(404, "this attempt's prompt was not kept", "prompts are kept from this version on")
        return JSONResponse({"prompt": text})

    # acting

    async def act(self, request: Request) -> Response:
        action = str(request.path_params["action"])
        handler = ACTIONS.get(action)
        if handler is None:
            return refusal(404, f"unknown action {action!r}", "actions: " + ", ".join(ACTIONS))
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


__all__ = ["Dashboard", "build_app"]
