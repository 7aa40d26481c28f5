"""``specflow advance`` with a trivial agent, as a whole process, and the imports it pays for.

    python benchmarks/advance_bench.py [--pairs 7]

A git hub with a writing phase (a write gate, a prompt that fills in fields) and a command agent
that runs ``true``: what is left is specflow's own cost — start, imports, lock, checkpoint,
prompt, agent start, audit, records and their commit.  In interleaved rounds, each on fresh changes:

- ``python -c pass``: the interpreter's own start, the reference;
- ``specflow advance <id> --quiet`` of a phase (not its workflow's final state, as most phases
  are not): wall time of the process, and its CPU time (user and system, its git processes
  included), which other work on the machine skews far less;
- the same of a change whose phase is its workflow's final state: then its branch lands on
  main (the merge, the checks of main's checkout, the merge commit, the checkout moved);
  printed beside, as ``api_bench.py`` prints it;
- imports: a fresh interpreter importing exactly the modules that advance left loaded (found
  once, in-process), as the command does (garbage collector paused, ``inspect``, ``tokenize``
  and ``textwrap`` deferred), timed from inside, so the interpreter's start is not counted.

Targets (issue 16): advance <= 120 ms, its imports <= 60 ms (wall times; the load average is
printed with them).  Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bytecode import compile_specflow, specflow_command

ADVANCE_MS = 120.0
IMPORTS_MS = 60.0
WORKFLOW = """\
workflow: bench
version: 1
description: One writing phase with a trivial agent, then a final state, for the benchmark.
initial: draft
states:
  draft: {}
  think:
    prompt: think.md.j2
    workspace:
      write: ["openspec/changes/{{ change.id }}/**"]
  done:
    final: true
scenarios:
  - scenario: Think
    given: [the change exists]
    when: advance
    from: draft
    to: think
  - scenario: Done
    when: advance
    from: think
    to: done
"""
# the same phase as its workflow's final state: reaching it lands the change's branch on main
FINAL_WORKFLOW = (
    WORKFLOW.replace("workflow: bench\n", "workflow: bench-final\n")
    .replace(", then a final state,", ", the final state,")
    .replace("\n  done:\n    final: true\n", "\n    final: true\n")
    .split("  - scenario: Done\n")[0]
)
TEMPLATE = "Think about {{ change.id }}.\n{{ gate.description }}\n"
CONFIG = """\
default_workflow: bench
default_agent: trivial
sandbox: off
agents:
  trivial:
    adapter: command
    command: ["true"]
"""
LOADED = """\
import json, sys
from specflow.cli import deferred
deferred.on_the_command()  # before the command's modules load, as ``specflow.cli.start.entry`` does
from specflow.cli.main import main
before = set(sys.modules)
main(["advance", sys.argv[1], "--quiet"])
print(json.dumps(sorted(set(sys.modules) - before)))
"""
# as the ``specflow`` command imports them: with the collector paused, and what it puts off deferred
# before its modules load (``specflow.cli.start.entry``)
IMPORT = """\
import gc, importlib, sys, time
names = sys.argv[1:]
gc.disable()
start = time.perf_counter()
from specflow.cli import deferred
deferred.on_the_command()
import specflow.cli.main
for name in names:
    try:
        importlib.import_module(name)
    except ImportError:
        pass  # a platform module another one tried and let go
print(time.perf_counter() - start)
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_hub(hub: Path, changes: int, env: dict[str, str]) -> None:
    """A committed hub with both workflows and ``changes`` changes of each (``c-N`` a phase, ``f-N``
    the final state) in state draft."""
    hub.mkdir(parents=True)
    git(hub, "init", "-q", "-b", "main")
    for key, value in (("user.email", "bench@example.com"), ("user.name", "Bench"), ("commit.gpgsign", "false")):
        git(hub, "config", key, value)
    subprocess.run([*specflow_command(), "init", "."], cwd=hub, env=env, check=True, capture_output=True)
    (hub / "openspec" / "workflows").mkdir(parents=True, exist_ok=True)
    (hub / "openspec" / "templates").mkdir(parents=True, exist_ok=True)
    (hub / "openspec" / "workflows" / "bench.yaml").write_text(WORKFLOW, encoding="utf-8")
    (hub / "openspec" / "workflows" / "bench-final.yaml").write_text(FINAL_WORKFLOW, encoding="utf-8")
    (hub / "openspec" / "templates" / "think.md.j2").write_text(TEMPLATE, encoding="utf-8")
    (hub / "specflow.yaml").write_text(CONFIG, encoding="utf-8")
    git(hub, "add", "-A")
    git(hub, "commit", "-q", "-m", "bench hub")
    code = "import sys\nfrom specflow import Hub\nhub = Hub.open(sys.argv[1])\n" + "".join(
        f"hub.new_change('c-{i}')\nhub.new_change('f-{i}', workflow='bench-final')\n" for i in range(changes)
    )
    # run in the hub, so 'python -c' imports the installed specflow the command runs, not a source
    # tree in the caller's folder (whose definitions cache would not match the command's)
    subprocess.run([sys.executable, "-c", code, str(hub)], cwd=hub, env=env, check=True, capture_output=True)


def wall_s(argv: list[str], cwd: Path, env: dict[str, str], cpu: list[float] | None = None) -> float:
    """The wall time of running ``argv``; with ``cpu``, its CPU time (user and system, children
    included) is appended: far less sensitive than wall time to other work on the machine."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr is not None else b""
    if proc.stderr is not None:
        proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv, stderr=err)
    if cpu is not None:
        cpu.append(usage.ru_utime + usage.ru_stime)
    return elapsed


def import_s(modules: list[str], cwd: Path, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", IMPORT, *modules], cwd=cwd, env=env, check=True, capture_output=True)
    return float(out.stdout)


def _load() -> str:
    """The 1-, 5- and 15-minute load averages: other work on the machine skews wall times."""
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args(argv)
    compile_specflow()
    specflow = specflow_command()
    tmp = Path(tempfile.mkdtemp(prefix="specflow-bench-"))
    env = {**os.environ, "NO_COLOR": "1", "XDG_DATA_HOME": str(tmp / "xdg")}
    try:
        hub = tmp / "hub"
        make_hub(hub, args.pairs + 2, env)
        loaded = subprocess.run(
            [sys.executable, "-c", LOADED, f"c-{args.pairs + 1}"], cwd=hub, env=env, check=True, capture_output=True
        )
        modules = json.loads(loaded.stdout.splitlines()[-1])
        for prefix in ("c", "f"):  # warm the page cache
            wall_s([*specflow, "advance", f"{prefix}-{args.pairs}", "--quiet"], hub, env)
        bare: list[float] = []
        advance: list[float] = []
        final: list[float] = []
        imports: list[float] = []
        cpu: list[float] = []
        load = _load()
        for i in range(args.pairs):
            bare.append(wall_s([sys.executable, "-c", "pass"], hub, env))
            advance.append(wall_s([*specflow, "advance", f"c-{i}", "--quiet"], hub, env, cpu))
            imports.append(import_s(modules, hub, env))
            final.append(wall_s([*specflow, "advance", f"f-{i}", "--quiet"], hub, env))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    bare_ms, advance_ms, imports_ms, final_ms = (statistics.median(v) * 1000 for v in (bare, advance, imports, final))
    ok_advance, ok_imports = advance_ms <= ADVANCE_MS, imports_ms <= IMPORTS_MS
    print(f"medians of {args.pairs} interleaved rounds; {os.cpu_count()} CPUs; {len(modules)} modules imported")
    print(f"load average before {load}, after {_load()}")
    print(f"reference  python -c pass:                {bare_ms:7.1f} ms")
    print(
        f"specflow   advance, trivial agent:        {advance_ms:7.1f} ms  {advance_ms / bare_ms:5.1f}x"
        f"  (target <= {ADVANCE_MS:.0f} ms) {'ok' if ok_advance else 'MISS'}"
    )
    print(
        f"specflow   its imports:                   {imports_ms:7.1f} ms"
        f"  (target <= {IMPORTS_MS:.0f} ms) {'ok' if ok_imports else 'MISS'}"
    )
    # what is left is the run itself: lock, records, checkpoint, agent, audit, commit, landing
    print(f"specflow   its run (the rest):            {advance_ms - imports_ms - bare_ms:7.1f} ms")
    print(
        f"specflow   advance's CPU time (user+sys): {statistics.median(cpu) * 1000:7.1f} ms  (with its git processes)"
    )
    print(
        f"specflow   advance to the final state:    {final_ms:7.1f} ms  (lands the branch on main:"
        f" {final_ms - advance_ms:+.1f} ms)"
    )
    return 0 if ok_advance and ok_imports else 1


if __name__ == "__main__":
    raise SystemExit(main())
