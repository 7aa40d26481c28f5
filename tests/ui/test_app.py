"""The dashboard's API through Starlette's test client: data, actions, and what it refuses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from specflow import Hub
from specflow.changestate.lock import pid_alive
from specflow.ui.access import COOKIE, Access
from specflow.ui.app import build_app
from tests.conftest import HubFixture

BASE = "http://127.0.0.1"
# the think phase answers with notes; the write phase writes a proposal with some raw HTML in it
AGENT = (
    "import os, pathlib, sys, time\nsys.stdin.read()\n"
    "hub = pathlib.Path(os.environ['SPECFLOW_HUB'])\n"
    "d = hub / 'openspec' / 'changes' / os.environ['SPECFLOW_CHANGE']\n"
    "print('Read openspec/specs', file=sys.stderr, flush=True)\n"
    "if any((p / 'hold').exists() for p in hub.parents):  # beside the hub (the agent runs in a worktree of it)\n"
    "    time.sleep(60)\n"
    "if os.environ['SPECFLOW_PHASE'] == 'write':\n"
    "    (d / 'proposal.md').write_text('## Why\\nBecause <script>alert(1)</script> matters.\\n')\n"
    "print('the notes')\n"
)


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def served(hub: HubFixture) -> Iterator[tuple[TestClient, Access, Hub]]:
    hub.agent("scripted", AGENT)
    api = Hub.open(hub.root)
    access = Access("tok-" + "a" * 20, "csrf-" + "b" * 20, strict=False)
    with TestClient(build_app(api, access), base_url=BASE) as client:
        yield client, access, api


def post(client: TestClient, access: Access, path: str, body: dict[str, object] | None = None) -> object:
    return client.post(
        path,
        json=body or {},
        headers={"X-Specflow-Token": access.token, "X-CSRF-Token": access.csrf, "Origin": BASE},
    )


def test_the_token_is_needed_and_the_first_visit_keeps_it_in_a_cookie(
    served: tuple[TestClient, Access, Hub],
) -> None:
    client, access, _ = served
    refused = client.get("/api/board")
    assert refused.status_code == 401 and "access token" in refused.json()["error"]
    assert client.get("/api/board?token=wrong").status_code == 401
    first = client.get(f"/?token={access.token}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    assert f"{COOKIE}={access.token}" in first.headers["set-cookie"]
    assert (
        "httponly" in first.headers["set-cookie"].lower() and "samesite=strict" in first.headers["set-cookie"].lower()
    )
    client.cookies.set(COOKIE, access.token)
    page = client.get("/")
    assert page.status_code == 200 and access.csrf in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert client.get("/api/board").status_code == 200
    # a page that a rebinding DNS name points at this server is refused
    assert client.get("/api/board", headers={"Host": "evil.example"}).status_code == 403


def test_on_another_host_the_token_is_needed_on_every_request(hub: HubFixture) -> None:
    access = Access("tok-" + "c" * 20, "csrf-" + "d" * 20, strict=True)
    with TestClient(build_app(Hub.open(hub.root), access), base_url="http://10.1.2.3:8765") as client:
        client.cookies.set(COOKIE, access.token)
        assert client.get("/api/board").status_code == 401
        assert client.get("/api/board", headers={"X-Specflow-Token": access.token}).status_code == 200
        assert client.get(f"/api/board?token={access.token}").status_code == 200
        page = client.get(f"/changes/nothing?token={access.token}")
        assert page.status_code == 404
        # the page's own scripts and styles load without the token (a script tag cannot send it)
        assert client.get("/static/common.js").status_code == 200
        assert client.get("/code.css").status_code == 200


def test_forged_posts_are_refused(served: tuple[TestClient, Access, Hub]) -> None:
    client, access, api = served
    api.new_change("add-login")
    path = "/api/changes/add-login/approve"
    ok = {"X-Specflow-Token": access.token, "X-CSRF-Token": access.csrf}
    assert client.post(path, json={}, headers={"X-Specflow-Token": access.token}).status_code == 403
    assert client.post(path, json={}, headers={**ok, "X-CSRF-Token": "guess"}).status_code == 403
    other = client.post(path, json={}, headers={**ok, "Origin": "http://evil.example"})
    assert other.status_code == 403 and "another site" in other.json()["error"]
    assert client.post(path, json={}, headers={**ok, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    form = client.post(path, content=b"note=x", headers={**ok, "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    assert api.change("add-login").history()[-1]["outcome"] == "created"  # nothing was approved


def test_board_timeline_and_approve(served: tuple[TestClient, Access, Hub]) -> None:
    client, access, api = served
    change = api.new_change("add-login", goal="Let people log in")
    change.advance()
    change.advance()
    headers = {"X-Specflow-Token": access.token}
    board = client.get("/api/board", headers=headers).json()
    card = next(c for c in board["cards"] if c["id"] == "add-login")
    assert (card["lane"], card["needs"], card["goal"]) == ("needs-you", "approval", "Let people log in")
    assert card["next_action"] == {"name": "approve", "label": "approve"}
    detail = client.get("/api/changes/add-login", headers=headers).json()
    assert [e["outcome"] for e in detail["timeline"]["entries"]] == ["created", "succeeded", "succeeded"]
    proposal = next(a for a in detail["artifacts"] if a["name"] == "proposal.md")
    assert "<h2>Why</h2>" in proposal["html"] and "<script>" not in proposal["html"]
    assert "&lt;script&gt;" in proposal["html"]
    assert any(e["message"] == "Read openspec/specs" for e in detail["events"])
    assert [c["number"] for c in detail["checkpoints"]] == [2, 1]
    sha = detail["timeline"]["entries"][-1]["prompt_sha256"]
    prompt = client.get(f"/api/changes/add-login/prompts/{sha}", headers=headers).json()["prompt"]
    assert prompt.startswith("Write the proposal for add-login")
    assert client.get("/api/changes/add-login/prompts/" + "0" * 64, headers=headers).status_code == 404
    answer = post(client, access, "/api/changes/add-login/approve", {"note": "looks right"})
    assert answer.status_code == 200  # type: ignore[attr-defined]
    assert api.change("add-login").history()[-1]["approval"]["note"] == "looks right"
    board = client.get("/api/board", headers=headers).json()
    assert next(c for c in board["cards"] if c["id"] == "add-login")["lane"] == "open"
    missing = client.get("/api/changes/add-logn", headers=headers)
    assert missing.status_code == 404 and "did you mean 'add-login'" in missing.json()["error"]
    assert client.get("/api/changes/Bad..Id", headers=headers).status_code == 400


def test_advance_and_cancel_from_the_api(served: tuple[TestClient, Access, Hub], tmp_path: Path) -> None:
    client, access, api = served
    api.new_change("add-login")
    started = post(client, access, "/api/changes/add-login/advance")
    assert started.status_code == 200  # type: ignore[attr-defined]
    change = api.change("add-login")
    wait_for(lambda: not pid_alive(started.json()["run"]["pid"]))  # type: ignore[attr-defined]
    assert change.state == "think"
    (tmp_path / "hold").write_text("")  # the next phase's agent waits until cancelled
    run = post(client, access, "/api/changes/add-login/advance").json()["run"]  # type: ignore[attr-defined]
    reader = change.events(from_start=True)
    wait_for(lambda: any(e.run.startswith(str(run["pid"])) and e.kind == "start" for e in reader.tail(50)))
    again = post(client, access, "/api/changes/add-login/advance")
    assert again.status_code == 423 and "locked by pid" in again.json()["error"]  # type: ignore[attr-defined]
    cancelled = post(client, access, "/api/changes/add-login/cancel")
    assert cancelled.json()["pid"] == run["pid"]  # type: ignore[attr-defined]
    wait_for(lambda: not pid_alive(run["pid"]))
    card = next(c for c in client.get("/api/board", headers={"X-Specflow-Token": access.token}).json()["cards"])
    assert (card["lane"], card["needs"]) == ("needs-you", "interrupted")
    nothing = post(client, access, "/api/changes/add-login/cancel")
    assert nothing.status_code == 409 and "no phase of 'add-login' is running" in nothing.json()["error"]  # type: ignore[attr-defined]


def test_reject_with_a_note_sends_the_change_back(served: tuple[TestClient, Access, Hub]) -> None:
    client, access, api = served
    change = api.new_change("add-login")
    early = post(client, access, "/api/changes/add-login/reject", {"note": "nothing to reject yet"})
    assert early.status_code == 409  # type: ignore[attr-defined]
    assert "no 'reject' from state 'draft'" in early.json()["error"]  # type: ignore[attr-defined]
    assert early.json()["fix"] == "triggers from here: advance"  # type: ignore[attr-defined]
    assert [e["outcome"] for e in change.history()] == ["created"]
    change.advance()
    change.advance()
    answer = post(client, access, "/api/changes/add-login/reject", {"note": "too broad; split it"})
    assert answer.status_code == 200  # type: ignore[attr-defined]
    wait_for(lambda: not pid_alive(answer.json()["run"]["pid"]))  # type: ignore[attr-defined]
    entries = api.change("add-login").timeline().entries
    rejected = next(e for e in entries if e.outcome == "rejected")
    assert (rejected.note, rejected.from_state) == ("too broad; split it", "write")
    assert entries[-1].trigger == "reject" and entries[-1].outcome == "succeeded"
    assert api.change("add-login").state == "think"
    long_note = post(client, access, "/api/changes/add-login/approve", {"note": "x" * 5000})
    assert long_note.status_code == 409  # type: ignore[attr-defined]


def test_a_finished_apply_is_ready_to_merge_and_merges_from_the_api(tmp_path: Path) -> None:
    from specflow import PhaseFailed
    from specflow.demo.example_hub import REPOS, copy_example
    from specflow.demo.run import CHANGE_ID, GOAL

    paths = copy_example(tmp_path / "example")
    api = Hub.open(paths["hub"])
    change = api.new_change(CHANGE_ID, workflow="openspec", goal=GOAL, repos=list(REPOS))
    change.advance()
    change.advance()
    change.approve(by="ana")
    for _ in range(3):  # the demo agent writes outside its gate once, then behaves
        try:
            change.advance()
            break
        except PhaseFailed:
            continue
    access = Access("tok-" + "e" * 20, "csrf-" + "f" * 20, strict=False)
    with TestClient(build_app(api, access), base_url=BASE) as client:
        headers = {"X-Specflow-Token": access.token}
        card = client.get("/api/board", headers=headers).json()["cards"][0]
        assert (card["lane"], card["needs"], card["next_action"]["name"]) == ("needs-you", "merge", "merge")
        diff = client.get(f"/api/changes/{CHANGE_ID}/diff", headers=headers).json()
        api_repo = next(r for r in diff["repos"] if r["repo"] == "api")
        service = next(f for f in api_repo["files"] if f["path"] == "service.py")
        assert service["added"] > 0 and 'class="hl"' in service["html"] and "greet" in service["html"]
        merged = post(client, access, f"/api/changes/{CHANGE_ID}/merge")
        assert merged.status_code == 200  # type: ignore[attr-defined]
        merges = {m["repo"] for m in merged.json()["merges"]}  # type: ignore[attr-defined]
        assert merges == {"hub", "api", "bot"}  # every branch of the change, the hub's included
        card = client.get("/api/board", headers=headers).json()["cards"][0]
        assert (card["lane"], card["next_action"]["name"]) == ("open", "advance")


def test_the_first_visit_never_redirects_to_another_site(hub: HubFixture) -> None:
    import asyncio

    from specflow.ui.access import Guard

    access = Access("tok-" + "g" * 20, "csrf-" + "h" * 20, strict=False)
    sent: list[dict[str, object]] = []

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the guard answers the first visit itself")

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("127.0.0.1", 8765),
        "path": "//evil.example/x",
        "raw_path": b"//evil.example/x",
        "query_string": f"token={access.token}&a=1".encode(),
        "headers": [(b"host", b"127.0.0.1:8765")],
    }
    asyncio.run(Guard(app, access)(scope, receive, send))  # type: ignore[arg-type]
    headers = dict(sent[0]["headers"])  # type: ignore[call-overload]
    assert sent[0]["status"] == 303 and headers[b"location"] == b"/evil.example/x?a=1"
