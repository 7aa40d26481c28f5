"""Queue benchmark: what a queued phase costs before its agent starts, against a direct advance.

    python benchmarks/queue_bench.py [--pairs 7] [--no-postgres]

On a generated hub (the tests' mini workflow, a scripted agent that writes the time it starts),
for each database (SQLite, the default; then a real PostgreSQL started in a temporary folder,
as the tests start it), with a worker of its own running, it times interleaved pairs:

- through the API, as a bot or the dashboard calls it: ``Change.advance()`` from the call to the
  agent's start, against ``specflow.queue.client.enqueue()`` from the call to the agent's start
  in the worker (the enqueue, the worker's poll, the workflow's steps, the phase's preparation).
  The queue's overhead per phase is the queued time less the direct time of the same pair
  (median over the pairs); target <= 1 s.
- a pushed change, on PostgreSQL: ``Change.advance()`` of a change whose branches are on a
  remote (it takes the change's lease) against ``enqueue()`` of it, which goes to the shared
  queue; the worker that takes it pulls the change, takes its lease and pushes after the phase.
  Same target: the queue's overhead per phase <= 1 s.
- through the CLI, as a person types it: ``specflow advance <id>`` against ``specflow advance
  <id> --queue``, each in a new process, from its start to the agent's start.  Reported, with
  no target: the queued command also imports DBOS (about 0.7 s here), which the worker
  then saves every phase it runs.

Prints the figures; exits 1 when a target is missed.  The machine's noise shows as min and max.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bytecode import compile_specflow, specflow_command  # noqa: E402

from specflow.engine.hub import Hub  # noqa: E402
from specflow.queue.client import enqueue  # noqa: E402
from tests.conftest import MINI_WORKFLOW, THINK_TEMPLATE, WRITE_TEMPLATE  # noqa: E402
from tests.queue.postgres import find_bin, running_postgres  # noqa: E402

TARGET_S = 1.0
MACHINE = "bench"
# writes the moment it starts (the clock every figure ends at) beside the hub, out of every
# worktree the audit watches (its first argument), then the notes
AGENT = (
    "import os, pathlib, sys, time\n"
    "started = time.time()\n"
    "sys.stdin.read()\n"
    "out = pathlib.Path(sys.argv[1]) / ('started-' + os.environ['SPECFLOW_CHANGE'])\n"
    "out.write_text(repr(started))\n"
    "print('the notes')\n"
)


def make_hub(top: Path) -> Path:
    root = top / "hub"
    root.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "b@example.com"], ["config", "user.name", "B"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    Hub.init(root)
    agent = top / "agent.py"
    agent.write_text(AGENT)
    (root / "specflow.yaml").write_text(
        "default_workflow: mini\ndefault_agent: scripted\nsandbox: off\nagents:\n"
        f"  scripted:\n    adapter: command\n    command: [{sys.executable!r}, {str(agent)!r}, {str(top)!r}]\n"
    )
    for rel, text in (
        ("openspec/workflows/mini.yaml", MINI_WORKFLOW),
        ("openspec/templates/think.md.j2", THINK_TEMPLATE),
        ("openspec/templates/write.md.j2", WRITE_TEMPLATE),
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "hub"], cwd=root, check=True)
    return root


def _wait_for(path: Path, timeout_s: float = 60.0) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return float(path.read_text())
        except (FileNotFoundError, ValueError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the agent never wrote {path}") from None
            time.sleep(0.005)


@contextmanager
def worker(hub: Path, env: dict[str, str]) -> Iterator[None]:
    log = (hub.parent / "worker.log").open("ab")
    proc = subprocess.Popen(
        [*specflow_command(), "-C", str(hub), "worker", "--machine", MACHINE], stdout=log, stderr=log, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while b"worker for machine" not in (hub.parent / "worker.log").read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((hub.parent / "worker.log").read_text())
            time.sleep(0.02)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def _finished(hub: Path, change_id: str) -> None:
    """Wait for the phase to end, so the next run never shares the machine with it."""
    deadline = time.monotonic() + 60
    while Hub.open(hub).change(change_id).state != "think":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{change_id} never reached think")
        time.sleep(0.02)


def by_api(hub: Path, change_id: str, queued: bool) -> float:
    """Seconds from the library call to its agent's start."""
    change = Hub.open(hub).new_change(change_id)
    start = time.time()
    if queued:
        enqueue(change, machine=MACHINE)
    else:
        change.advance()
    took = _wait_for(hub.parent / f"started-{change_id}") - start
    _finished(hub, change_id)
    return took


def by_cli(hub: Path, env: dict[str, str], change_id: str, queued: bool) -> float:
    """Seconds from the command's start to its agent's start."""
    Hub.open(hub).new_change(change_id)
    argv = [*specflow_command(), "-C", str(hub), "advance", change_id]
    if queued:
        argv += ["--queue", "--machine", MACHINE]
    start = time.time()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    took = _wait_for(hub.parent / f"started-{change_id}") - start
    _finished(hub, change_id)
    return took


def pairs_of(run: Callable[[str, bool], float], prefix: str, pairs: int) -> tuple[list[float], list[float]]:
    """(direct, queued) times of ``pairs`` interleaved pairs, the order alternating."""
    direct: list[float] = []
    queued: list[float] = []
    for i in range(pairs):
        for q in (False, True) if i % 2 == 0 else (True, False):
            (queued if q else direct).append(run(f"{prefix}-{'q' if q else 'd'}-{i}", q))
    return direct, queued


def _line(label: str, times: list[float]) -> str:
    return f"  {label:<30} median {statistics.median(times):.3f}  (min {min(times):.3f}, max {max(times):.3f})"


def _report(api: tuple[list[float], list[float]], labels: tuple[str, str], included: str) -> bool:
    """Print the direct and queued starts and the queue's overhead; True when it meets the target."""
    overhead = statistics.median(q - d for d, q in zip(*api, strict=True))
    ok = overhead <= TARGET_S
    print(_line(labels[0], api[0]))
    print(_line(labels[1], api[1]))
    print(
        f"  queue overhead per phase{included}: median {overhead:.3f} s"
        f" ({statistics.median(api[1]) / statistics.median(api[0]):.2f}x the direct start);"
        f" target <= {TARGET_S:g} s: {'ok' if ok else 'MISSED'}"
    )
    return ok


def measure(name: str, env: dict[str, str], pairs: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="specflow-queue-bench-") as tmp:
        hub = make_hub(Path(tmp))
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)  # the API calls read the queue's database from it
        try:
            with worker(hub, env):
                by_api(hub, "warm-up-d", False)
                by_api(hub, "warm-up-q", True)
                api = pairs_of(lambda cid, q: by_api(hub, cid, q), "api", pairs)
                cli = pairs_of(lambda cid, q: by_cli(hub, env, cid, q), "cli", pairs)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    cli_overhead = statistics.median(q - d for d, q in zip(*cli, strict=True))
    print(f"{name}: {pairs} interleaved pairs each, seconds to the agent's start")
    ok = _report(api, ("Change.advance()", "enqueue() -> worker"), "")
    print(_line("specflow advance", cli[0]))
    print(_line("specflow advance --queue", cli[1]))
    print(f"  through the CLI: median {cli_overhead:.3f} s more (the queued command imports DBOS)")
    return ok


def _pushed_hub(top: Path) -> Path:
    """The generated hub with a bare remote its main branch tracks."""
    hub = make_hub(top)
    bare = top / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "remote", "add", "origin", str(bare)], cwd=hub, check=True)
    subprocess.run(["git", "push", "-q", "-u", "origin", "main"], cwd=hub, check=True)
    return hub


def _pushed(hub: Path, change_id: str) -> bool:
    """The change's hub branch on the remote is the local one (the worker pushed after its phase)."""
    branch = f"refs/heads/specflow/{change_id}"
    out = subprocess.run(["git", "ls-remote", "origin", branch], cwd=hub, capture_output=True, text=True).stdout
    local = subprocess.run(["git", "rev-parse", branch], cwd=hub, capture_output=True, text=True).stdout
    return out.split("\t")[0] == local.strip()


def by_api_pushed(hub: Path, change_id: str, queued: bool) -> float:
    """Seconds from the library call to its agent's start, for a change whose branches are pushed."""
    change = Hub.open(hub).new_change(change_id)
    change.push()
    start = time.time()
    if queued:
        enqueue(change)  # to the shared queue: its branches are pushed and up to date
    else:
        change.advance()
    took = _wait_for(hub.parent / f"started-{change_id}") - start
    _finished(hub, change_id)
    deadline = time.monotonic() + 60
    while queued and not _pushed(hub, change_id):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{change_id} was never pushed after its phase")
        time.sleep(0.02)
    return took


def measure_pushed(env: dict[str, str], pairs: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="specflow-queue-bench-") as tmp:
        hub = _pushed_hub(Path(tmp))
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update({**env, "SPECFLOW_MACHINE": MACHINE})  # the lease's holder, as in the worker
        try:
            with worker(hub, env):
                by_api_pushed(hub, "warm-up-d", False)
                by_api_pushed(hub, "warm-up-q", True)
                api = pairs_of(lambda cid, q: by_api_pushed(hub, cid, q), "pushed", pairs)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    print(f"PostgreSQL, a pushed change (any machine): {pairs} interleaved pairs, seconds to the agent's start")
    return _report(api, ("Change.advance() (its lease)", "enqueue() -> any worker"), ", pull and lease included")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    if args.pairs < 7:
        parser.error("--pairs must be at least 7")
    compile_specflow()
    env = {k: v for k, v in os.environ.items() if k not in ("SPECFLOW_QUEUE_DATABASE", "SPECFLOW_MACHINE")}
    env["NO_COLOR"] = "1"
    ok = measure("SQLite (the default)", env, args.pairs)
    if not args.no_postgres:
        bin_dir = find_bin()
        if bin_dir is None:
            print("PostgreSQL: not installed (apt-get install -y postgresql); skipped")
            return 0 if ok else 1
        with ExitStack() as stack:
            server = stack.enter_context(running_postgres(bin_dir))
            ok = measure("PostgreSQL", {**env, "SPECFLOW_QUEUE_DATABASE": server.url("queue_bench")}, args.pairs) and ok
            pushed_env = {**env, "SPECFLOW_QUEUE_DATABASE": server.url("queue_bench_pushed")}
            ok = measure_pushed(pushed_env, args.pairs) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
