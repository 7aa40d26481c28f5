"""Runs that need no terminal: advance --background, cancel, the board, the timeline, notifications."""

from __future__ import annotations

import http.server
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from specflow import Hub
from specflow.changestate.lock import pid_alive
from specflow.engine.background import last_run
from specflow.engine.eventreader import EventReader
from specflow.engine.events import events_dir
from specflow.errors import StateError
from specflow.ui.notify import Notifier, desktop_command
from tests.conftest import HubFixture

CLI = Callable[..., tuple[int, str, str]]

# each tool line waits for the test to let it go (a barrier file), so nothing depends on timing
STEPPED = (
    "import os, pathlib, sys, time\nsys.stdin.read()\n"
    "here = pathlib.Path(os.environ['SPECFLOW_HUB'])  # the change's own worktree, inside the hub\n"
    "gate = next(p for p in [here, *here.parents] if p.name == 'hub').parent / 'go'\n"
    "for name in ('Read openspec/specs', 'Write notes'):\n"
    "    print(name, file=sys.stderr, flush=True)\n"
    "    for _ in range(600):\n"
    "        if gate.exists():\n"
    "            break\n"
    "        time.sleep(0.05)\n"
    "print('the notes')\n"
)
WAITS = "import sys, time\nsys.stdin.read()\nprint('Bash sleep', file=sys.stderr, flush=True)\ntime.sleep(60)\n"
QUICK = "import sys\nsys.stdin.read()\nprint('Read it', file=sys.stderr, flush=True)\nprint('the notes')\n"


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_advance_in_background_returns_at_once_and_logs_its_progress(hub: HubFixture, cli: CLI) -> None:
    hub.agent("scripted", STEPPED)
    Hub.open(hub.root).new_change("add-login")
    started = time.monotonic()
    code, out, err = cli("-C", hub.root, "advance", "add-login", "--background")
    assert code == 0, err
    assert time.monotonic() - started < 5
    assert "started in the background" in out
    assert "status --watch" in out and " ui" in out and ".run.log" in out
    reader = EventReader(hub.root, "add-login")
    seen: list[str] = []

    def saw(text: str) -> bool:
        seen.extend(e.message for e in reader.read())
        return text in seen

    wait_for(lambda: saw("Read openspec/specs"))
    change = Hub.open(hub.root).change("add-login")
    board = Hub.open(hub.root).board()
    card = board.card("add-login")
    assert card is not None and card.lane == "running" and card.phase == "think"
    assert card.activity == "Read openspec/specs"
    assert card.next_action is not None and card.next_action.name == "cancel"
    (hub.root.parent / "go").write_text("")
    wait_for(lambda: change.state == "think")
    wait_for(lambda: not (change.record or {}).get("in_flight"))
    assert saw("Write notes")
    run = last_run(change)
    assert run is not None
    wait_for(lambda: not pid_alive(run.pid))
    log = (events_dir(hub.root) / "add-login.run.log").read_text()
    assert "draft -> think succeeded" in log


def test_cancel_stops_a_running_phase_and_the_card_asks_for_a_person(hub: HubFixture) -> None:
    hub.agent("scripted", WAITS)
    change = Hub.open(hub.root).new_change("add-login")
    with pytest.raises(StateError, match="no phase of 'add-login' is running"):
        change.cancel()
    run = change.advance_in_background()
    reader = EventReader(hub.root, "add-login")
    wait_for(lambda: any(e.message == "Bash sleep" for e in reader.read()))
    assert change.cancel() == run.pid
    wait_for(lambda: not pid_alive(run.pid), timeout=30)
    card = Hub.open(hub.root).board().card("add-login")
    assert card is not None
    assert (card.lane, card.needs, card.phase) == ("needs-you", "interrupted", "think")
    assert card.next_action is not None and card.next_action.name == "retry"


def test_board_lanes_and_timeline_follow_the_workflow(hub: HubFixture) -> None:
    hub.agent(
        "scripted",
        "import os, pathlib, sys\nsys.stdin.read()\n"
        "d = pathlib.Path(os.environ['SPECFLOW_HUB']) / 'openspec' / 'changes' / os.environ['SPECFLOW_CHANGE']\n"
        "if os.environ['SPECFLOW_PHASE'] == 'write':\n"
        "    (d / 'proposal.md').write_text('## Why\\nBecause.\\n')\n"
        "    (pathlib.Path(os.environ['SPECFLOW_HUB']) / 'CLAUDE.md').write_text('mine now')\n"
        "print('done')\n",
    )
    api = Hub.open(hub.root)
    change = api.new_change("add-login", goal="Let people log in")
    api.new_change("fix-typo")
    card = api.board().card("fix-typo")
    assert card is not None and card.lane == "open" and card.next_action is not None
    assert card.next_action.label == "advance to think"
    change.advance()
    with pytest.raises(Exception, match="failed"):
        change.advance()  # the agent wrote CLAUDE.md, outside its gate
    card = api.board().card("add-login")
    assert card is not None and (card.lane, card.needs, card.goal) == ("needs-you", "failed", "Let people log in")
    timeline = change.timeline()
    failed = timeline.entries[-1]
    assert failed.outcome == "failed" and failed.to_state == "write"
    assert [r.path for r in failed.refused] == ["CLAUDE.md"]
    assert "specflow restore add-login --checkpoint" in failed.refused[0].restore
    assert failed.prompt_kept and failed.checkpoint is not None
    assert any(s.stage == "given" and s.ok for s in failed.steps)
    # the agent behaves on its retry; the proposal then waits for a person
    hub.write(
        "agents/scripted.py",
        "import os, pathlib, sys\nsys.stdin.read()\n"
        "d = pathlib.Path(os.environ['SPECFLOW_HUB']) / 'openspec' / 'changes' / os.environ['SPECFLOW_CHANGE']\n"
        "(d / 'proposal.md').write_text('## Why\\nBecause.\\n')\nprint('done')\n",
    )
    api = Hub.open(hub.root)
    api.change("add-login").advance()
    card = api.board().card("add-login")
    assert card is not None and (card.lane, card.needs) == ("needs-you", "approval")
    assert card.next_action is not None and card.next_action.name == "approve"
    api.change("add-login").approve(by="ana", note="fine")
    card = api.board().card("add-login")
    assert card is not None and card.lane == "open"
    entry = api.change("add-login").timeline().entries[-1]
    assert (entry.outcome, entry.by, entry.note) == ("approved", "ana", "fine")
    api.change("add-login").advance()
    board = api.board()
    assert [c.id for c in board.lane("archived")] == ["add-login"]
    assert json.loads(json.dumps(board.to_dict()))["cards"][0]["id"] in ("add-login", "fix-typo")


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, str]]]]:
    received: list[dict[str, str]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_change_that_starts_needing_you_is_announced_once(
    hub: HubFixture, webhook: tuple[str, list[dict[str, str]]]
) -> None:
    url, received = webhook
    hub.agent("scripted", "import sys\nsys.stdin.read()\nsys.exit(3)\n")
    with (hub.root / "specflow.yaml").open("a") as fh:
        fh.write(f"notify:\n  desktop: false\n  webhook: {url}\n")
    api = Hub.open(hub.root)
    notifier = Notifier.for_hub(api)
    notifier.background = lambda job: job()
    change = api.new_change("add-login")
    assert notifier.observe(api.board()) == []  # the baseline announces nothing
    with pytest.raises(Exception, match="failed"):
        change.advance()
    fresh = notifier.observe(api.board())
    assert [c.id for c in fresh] == ["add-login"]
    assert notifier.observe(api.board()) == []  # still failing: not announced again
    assert notifier.errors == []
    assert len(received) == 1 and received[0]["text"].startswith("specflow: add-login failed an attempt")


def test_a_desktop_notification_runs_notify_send_where_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    said = tmp_path / "said.txt"
    script = bin_dir / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s|" "$@" > {shlex.quote(str(said))}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(sys, "platform", "linux")
    notifier = Notifier(desktop=True, background=lambda job: job())
    notifier.announce("specflow: add-login waits for your approval")
    assert notifier.errors == []
    assert said.read_text() == "--app-name=specflow|specflow|specflow: add-login waits for your approval|"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert desktop_command("specflow", "x") is None


def test_a_webhook_that_refuses_is_reported_not_raised() -> None:
    notifier = Notifier(webhook="http://127.0.0.1:9/nothing-listens", desktop=False, background=lambda job: job())
    notifier.announce("hello")
    assert notifier.errors and "webhook http://127.0.0.1:9/nothing-listens failed" in notifier.errors[0]


def test_status_watch_shows_the_live_board(hub: HubFixture) -> None:
    hub.agent("scripted", QUICK)
    Hub.open(hub.root).new_change("add-login")
    proc = subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(hub.root), "status", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("add-login"):
                break
        assert "open" in lines[-1] and "advance to think" in lines[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 130


def test_a_spent_budget_puts_the_change_in_the_needs_you_lane(hub: HubFixture) -> None:
    from specflow.changestate.records import append_event

    workflow = hub.root / "openspec" / "workflows" / "mini.yaml"
    text = workflow.read_text().replace(
        'given: [the file "notes.md" exists]', 'given: [the file "notes.md" exists, the change has cost less than $1]'
    )
    workflow.write_text(text)
    change = Hub.open(hub.root).new_change("add-login")
    card = Hub.open(hub.root).board().card("add-login")
    assert card is not None and (card.lane, card.budget_usd) == ("open", 1.0)
    # an attempt recorded with its agent's cost, as the engine records it
    append_event(change.dir, {"trigger": "advance", "to": "think", "outcome": "succeeded", "agent": {"cost_usd": 1.25}})
    card = Hub.open(hub.root).board().card("add-login")
    assert card is not None
    assert (card.lane, card.needs, card.cost_usd) == ("needs-you", "budget", 1.25)
    assert card.needs_reason == "spent $1.25 of a $1 budget"


def test_a_background_run_that_cannot_start_is_refused_at_once(hub: HubFixture, cli: CLI) -> None:
    from specflow.changestate.records import read_state, write_state

    change = Hub.open(hub.root).new_change("add-login")
    record = read_state(change.dir)
    assert record is not None
    write_state(change.dir, {**record, "state": "done"})
    code, _, err = cli("-C", hub.root, "advance", "add-login", "--background")
    assert code == 1
    assert "no 'advance' from state 'done' of 'add-login'" in err and "this state has no way out" in err
    assert last_run(change) is None
