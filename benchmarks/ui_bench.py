"""Dashboard benchmark: the board of 200 changes with long histories, live latency, CLI start-up.

    python benchmarks/ui_bench.py [--changes 200] [--events 400] [--runs 9]

Serves a generated hub with the real server (uvicorn, over HTTP on 127.0.0.1) and times:

- ``GET /api/board``: the first request (the server builds the board once as it starts; that
  build is shown too) and the median and worst of the following ones, for ``--changes``
  changes of ``--events`` history events each (target <= 300 ms);
- an agent's tool call to the page: from the moment the engine writes the event to the change's
  log to the moment the server-sent event reaches a client streaming ``/api/stream`` (target
  <= 500 ms, worst run);
- ``specflow --version`` against the same command as it was at ``--before`` (default: ``main``,
  extracted with ``git archive``), in interleaved pairs, and that it imports nothing of the
  dashboard (starlette, uvicorn, markdown-it, Pygments); target: at most 1.15x as slow as before.

At least 7 runs each; prints the figures; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import compileall
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bytecode import compile_specflow  # noqa: E402

from specflow.agents.base import AgentEvent  # noqa: E402
from specflow.engine.events import EventLog  # noqa: E402
from specflow.engine.hub import Hub  # noqa: E402

BOARD_TARGET_MS = 300.0
LIVE_TARGET_MS = 500.0
#: "as fast as before", with room for the noise of a shared machine
VERSION_RATIO = 1.15
STATES = ["draft", "explore", "propose", "apply"]


def generate(hub: Path, n: int, events: int) -> list[str]:
    """A hub with ``n`` changes of the openspec workflow, each with ``events`` history events."""
    (hub / "openspec" / "specs").mkdir(parents=True)
    (hub / "openspec" / "changes" / "archive").mkdir(parents=True)
    (hub / "openspec" / "config.yaml").write_text("schema: spec-driven\n")
    ids = []
    for i in range(n):
        cid = f"change-{i:04d}"
        ids.append(cid)
        d = hub / "openspec" / "changes" / cid
        d.mkdir(parents=True)
        (d / ".openspec.yaml").write_text(f'schema: spec-driven\ncreated: 2026-11-24\ngoal: "Goal of change {i}"\n')
        (d / "proposal.md").write_text(f"## Why\nChange {i} is needed.\n")
        tasks = "\n".join(f"- [{'x' if j < i % 6 else ' '}] 1.{j} task {j}" for j in range(6))
        (d / "tasks.md").write_text(f"## 1. Work\n{tasks}\n")
        sd = d / ".specflow"
        sd.mkdir()
        failure = {"phase": "apply", "reasons": ["a then step failed"], "at": "2026-11-24T00:00:00Z"}
        record = {
            "version": 1,
            "workflow": "openspec",
            "state": STATES[i % 4],
            "repos": [],
            "approvals": [],
            "in_flight": None,
            "last_failure": failure if i % 7 == 0 else None,
        }
        (sd / "state.json").write_text(json.dumps(record))
        lines = []
        for k in range(events):
            event: dict[str, Any] = {
                "time": f"2026-11-24T00:{k // 60 % 60:02d}:{k % 60:02d}Z",
                "trigger": "advance",
                "from": STATES[k % 4],
                "to": STATES[(k + 1) % 4],
                "outcome": "failed" if k % 3 else "succeeded",
                "reasons": ["the tests failed in api: 3 of 120 failed"] * (k % 3),
                "given": [{"step": "the change exists", "ok": True, "reason": ""}],
                "then": [{"step": "all tasks are done", "ok": k % 3 == 0, "reason": "2 of 6 tasks open"}],
            }
            if k % 2:
                event["agent"] = {
                    "name": "claude-code",
                    "cost_usd": 0.0125,
                    "tokens": {"input_tokens": 1200, "output_tokens": 340},
                    "session_id": f"s-{i}-{k}",
                    "final_text": "done " * 40,
                }
            lines.append(json.dumps(event))
        (sd / "history.jsonl").write_text("\n".join(lines) + "\n")
    return ids


class Served:
    """The dashboard of ``hub`` served by uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, hub: Hub) -> None:
        import uvicorn

        from specflow.ui.access import Access
        from specflow.ui.app import build_app
        from specflow.ui.server import bind

        self.access = Access.new("127.0.0.1")
        self.sock = bind("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(build_app(hub, self.access), log_level="warning", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def get(self, path: str) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers={"X-Specflow-Token": self.access.token})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: HTTP {response.status}: {body[:200]!r}")
            return body
        finally:
            conn.close()


def time_board(served: Served, runs: int, n: int) -> tuple[float, list[float]]:
    def once() -> float:
        start = time.perf_counter()
        data = json.loads(served.get("/api/board"))
        took = (time.perf_counter() - start) * 1000
        if len(data["cards"]) != n:
            raise RuntimeError(f"the board has {len(data['cards'])} cards, expected {n}")
        return took

    first = once()
    return first, [once() for _ in range(runs)]


def time_live(served: Served, hub: Hub, change_id: str, runs: int) -> list[float]:
    """Tool call written to the log -> the server-sent event read by a streaming client."""
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    conn.request("GET", "/api/stream", headers={"X-Specflow-Token": served.access.token})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"/api/stream: HTTP {response.status}")
    log = EventLog(hub.root, change_id)
    times = []
    try:
        time.sleep(0.3)  # the feed follows the log from the moment the stream opened
        for k in range(runs):
            marker = f"Edit src/module_{k}.py"
            start = time.perf_counter()
            log.write(AgentEvent("tool", marker, {"turn": k}))
            while True:
                line = response.fp.readline()
                if not line:
                    raise RuntimeError("the stream ended")
                if marker.encode() in line:
                    break
            times.append((time.perf_counter() - start) * 1000)
            time.sleep(0.1)
    finally:
        conn.close()
    return times


def _tree_before(rev: str, dest: Path) -> Path | None:
    """The ``specflow`` package as it was at ``rev`` (git archive), or None outside a git checkout."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "specflow"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    compileall.compile_dir(dest / "specflow", quiet=1)
    return dest


def time_version(runs: int, before: Path | None) -> tuple[list[float], list[float], str, list[str]]:
    """``specflow --version`` now and before (or a bare Python start), in interleaved pairs."""
    compile_specflow()
    ours_argv = [sys.executable, "-m", "specflow", "--version"]
    ours_env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    if before is not None:
        ref_argv, ref_env, ref_name = ours_argv, {**ours_env, "PYTHONPATH": str(before)}, "specflow --version before"
    else:
        ref_argv, ref_env, ref_name = [sys.executable, "-c", "pass"], ours_env, "python -c pass (reference)"
    subprocess.run(ours_argv, env=ours_env, capture_output=True, check=True)
    subprocess.run(ref_argv, env=ref_env, capture_output=True, check=True)
    ours, ref = [], []
    for _ in range(runs):  # interleaved pairs: both see the same machine load
        for argv, env, out in ((ours_argv, ours_env, ours), (ref_argv, ref_env, ref)):
            start = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, check=True)
            out.append((time.perf_counter() - start) * 1000)
    # what is loaded as the command ends, reported by an exit handler (the command runs every one)
    probe = (
        "import atexit, sys, runpy\nsys.argv = ['specflow', '--version']\n"
        "heavy = ('starlette', 'uvicorn', 'markdown_it', 'pygments')\n"
        "atexit.register(lambda: print(' '.join(sorted(m for m in sys.modules"
        " if m.split('.')[0] in heavy or m.startswith('specflow.ui'))), file=sys.stderr))\n"
        "runpy.run_module('specflow', run_name='__main__')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], env=ours_env, capture_output=True, text=True, check=True)
    return ours, ref, ref_name, out.stderr.split()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--changes", type=int, default=200)
    ap.add_argument("--events", type=int, default=400, help="history events per change")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument(
        "--before",
        default="main",
        help="the git revision whose 'specflow --version' is the reference ('' for a bare Python start)",
    )
    args = ap.parse_args(argv)
    runs = max(7, args.runs)
    tmp = Path(tempfile.mkdtemp(prefix="specflow-ui-bench-"))
    misses: list[str] = []
    try:
        root = tmp / "hub"
        ids = generate(root, args.changes, args.events)
        hub = Hub.open(root)
        from specflow.engine import activity as activity_module  # imported before the clock starts

        start = time.perf_counter()
        hub.board()  # what the server does once as it starts: every history read from nothing
        cold = (time.perf_counter() - start) * 1000
        activity_module._scans.clear()
        with Served(hub) as served:
            first, board = time_board(served, runs, args.changes)
            live = time_live(served, hub, ids[0], runs)
        before = _tree_before(args.before, tmp / "before") if args.before else None
        ours, ref, ref_name, imported = time_version(runs, before)
        print(f"hub: {args.changes} changes x {args.events} history events; {runs} runs; {os.cpu_count()} CPUs")
        print(f"{'measure':44} {'median':>9} {'worst':>9} {'target':>8}")
        rows = [
            ("board built from nothing (as the server starts)", cold, cold, BOARD_TARGET_MS),
            ("board data, first request", first, first, BOARD_TARGET_MS),
            ("board data, next requests", statistics.median(board), max(board), BOARD_TARGET_MS),
            ("tool call -> page (server-sent event)", statistics.median(live), max(live), LIVE_TARGET_MS),
            ("specflow --version", statistics.median(ours), max(ours), None),
            (ref_name, statistics.median(ref), max(ref), None),
        ]
        for name, median, worst, target in rows:
            print(f"{name:44} {median:7.1f}ms {worst:7.1f}ms {(f'{target:.0f}ms' if target else '-'):>8}")
            if target is not None and worst > target:
                misses.append(f"{name}: worst {worst:.1f} ms > {target:.0f} ms")
        ratio = statistics.median(ours) / statistics.median(ref)
        print(f"specflow --version: {ratio:.2f}x {ref_name}")
        if before is not None and ratio > VERSION_RATIO:
            misses.append(f"specflow --version is {ratio:.2f}x as slow as before (allowed: {VERSION_RATIO}x)")
        if imported:
            misses.append("specflow --version imports the dashboard: " + ", ".join(imported))
        else:
            print("specflow --version imports nothing of the dashboard")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for miss in misses:
        print(f"MISSED: {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
