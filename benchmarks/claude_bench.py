"""Overhead of running a phase through specflow's claude-code adapter vs running ``claude -p`` directly.

    .venv/bin/python benchmarks/claude_bench.py [--runs 7] [--binary PATH] [--json] [--hog]

One run, one scripted Messages API on 127.0.0.1 (``tests/claude/scripted_api.py``), the real
Claude Code binary (``.tools/node_modules/.bin/claude`` or ``$SPECFLOW_CLAUDE``).  Every variant
does the same work: one Write inside the gate (the guard hook runs once) and a final answer, two
API turns.  The variants, interleaved run by run, each round starting one variant later (so no
variant always runs first, or always after the same one):

- ``direct``: the exact ``claude`` command line the adapter builds (same generated settings and
  hook), run with ``subprocess.run`` in a clone of the hub (a git repository, as a person's
  checkout is: Claude Code reads its git state as it starts, which a plain folder would spare
  the reference), its output written to a file as a shell's ``> out.json`` does (it ends when
  claude exits, not when a process it left lets go of a pipe): the reference;
- ``adapter``: ``ClaudeCodeAdapter().run()`` in the same clone (settings generation, stream
  parsing, transcript, process-tree handling; no sandbox layer);
- ``advance-api``: ``Hub.change(id).advance()`` on a git hub (lock, checkpoint, prompt, adapter
  in the sandbox the hub's default chooses, audit, ``then`` steps, history, landing the final
  state on main);
- ``advance-cli``: ``specflow advance <id>`` as a user runs it, the console script beside this
  interpreter (adds interpreter start).

Each command a person would type (``claude -p``, ``specflow advance``) runs in a session of its
own, as from a terminal, and so does the hog: Linux groups CPU time by session (autogroup), and
the adapter starts Claude Code in a new session, so a reference sharing the benchmark's session
(and the hog's) got a smaller share of the CPU than specflow's Claude Code under load, which
read as ratios below 1.  ``--hog``: a busy loop pinned to the last CPU, in a session of its own,
for the whole run.

Medians, and each variant's ratio to ``direct``, with the load average before and after.
Target: adapter and advance <= 1.2x, also under load (``--hog``); the exit code is 1 when a
variant misses it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "claude"))

from bytecode import compile_specflow, specflow_command  # noqa: E402
from scripted_api import ScriptedAPI, quiet_env, script  # noqa: E402

from specflow.agents.base import AgentRequest  # noqa: E402
from specflow.agents.claude.adapter import ClaudeCodeAdapter  # noqa: E402
from specflow.agents.claude.binary import find_binary  # noqa: E402
from specflow.agents.claude.options import ClaudeOptions, command  # noqa: E402
from specflow.agents.claude.settings import build_phase_settings, guard_command  # noqa: E402
from specflow.workspace.gates import GatePolicy  # noqa: E402

TARGET = 1.2
WORKFLOW = """\
workflow: bench
version: 1
description: One writing phase, for the benchmark.
initial: draft
states:
  draft: {}
  propose:
    prompt: propose.md.j2
    workspace:
      write: ["openspec/changes/{{ change.id }}/**"]
    final: true
scenarios:
  - scenario: Propose
    given: [the change exists]
    when: advance
    from: draft
    to: propose
    then: [the file "proposal.md" exists]
"""
TEMPLATE = """\
Write the proposal of {{ change.id }}.
{{ gate.description }}
SCRIPT: write openspec/changes/{{ change.id }}/proposal.md ## Why\\nBenchmark.
SCRIPT: answer done
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_hub(root: Path, binary: Path, env: dict[str, str]) -> Path:
    from specflow.engine.hub import Hub

    root.mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "bench@example.com")
    _git(root, "config", "user.name", "Bench")
    _git(root, "config", "commit.gpgsign", "false")
    Hub.init(root)
    (root / "openspec" / "workflows").mkdir(parents=True, exist_ok=True)
    (root / "openspec" / "templates").mkdir(parents=True, exist_ok=True)
    (root / "openspec" / "workflows" / "bench.yaml").write_text(WORKFLOW, encoding="utf-8")
    (root / "openspec" / "templates" / "propose.md.j2").write_text(TEMPLATE, encoding="utf-8")
    config = {
        "default_workflow": "bench",
        "default_agent": "claude",
        "agents": {"claude": {"adapter": "claude-code", "binary": str(binary), "timeout": 120, "env": env}},
    }
    (root / "specflow.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "bench hub")
    return root


def phase_request(hub: Path, change: str, binary: Path, env: dict[str, str], transcripts: Path) -> AgentRequest:
    gate = GatePolicy(hub=hub, write_globs=(f"openspec/changes/{change}/**",), phase="propose", change_id=change)
    (hub / "openspec" / "changes" / change).mkdir(parents=True, exist_ok=True)
    prompt = (
        f"Write the proposal of {change}.\n{gate.describe()}\n"
        + script(f"write openspec/changes/{change}/proposal.md ## Why\\nBenchmark.", "answer done")
        + "\n"
    )
    return AgentRequest(
        prompt=prompt,
        cwd=hub,
        gate=gate,
        hub=hub,
        change_id=change,
        phase="propose",
        transcript_dir=transcripts,
        env=env,
        timeout=120,
        options={"binary": str(binary)},
    )


def run_direct(request: AgentRequest, binary: Path, workdir: Path) -> None:
    """The adapter's exact command line, without the adapter."""
    gate_file = workdir / "gate.json"
    gate_file.write_text(request.gate.to_json(), encoding="utf-8")
    phase = build_phase_settings(request.gate, request.cwd, hook_command=guard_command(sys.executable, gate_file))
    settings = workdir / "settings.json"
    settings.write_text(json.dumps(phase.settings), encoding="utf-8")
    argv = command(binary, request, ClaudeOptions(), settings, phase.args, None)
    # its output goes to files, as 'claude -p > out.json' in a shell: the run ends when claude
    # exits, not when the last process it left holding a pipe lets go of it
    out, err = workdir / "direct.out", workdir / "direct.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.run(
            argv,
            input=request.prompt.encode("utf-8"),
            cwd=request.cwd,
            env={**os.environ, **request.env},
            stdout=stdout,
            stderr=stderr,
            timeout=120,
            check=False,
            start_new_session=True,  # as typed in a terminal (see the module's docstring)
        )
    if proc.returncode != 0 or '"subtype":"success"' not in out.read_text(encoding="utf-8", errors="replace"):
        raise SystemExit(f"direct run failed ({proc.returncode}): {err.read_text(errors='replace')[-500:]}")


def _load() -> str:
    """The 1-, 5- and 15-minute load averages (other work on the machine skews every figure)."""
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--binary", default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--hog", action="store_true", help="keep one core busy while it runs (a machine under load)")
    args = parser.parse_args(argv)
    hog = None
    if args.hog:
        hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"], start_new_session=True)
        os.sched_setaffinity(hog.pid, {max(os.sched_getaffinity(0))})
    try:
        return _run(args)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


def _run(args: argparse.Namespace) -> int:
    compile_specflow()
    load_before = _load()
    default = REPO / ".tools" / "node_modules" / ".bin" / "claude"
    binary = find_binary(args.binary or (str(default) if default.exists() else None))
    times: dict[str, list[float]] = {"direct": [], "adapter": [], "advance-api": [], "advance-cli": []}
    with tempfile.TemporaryDirectory(prefix="specflow-claude-bench-") as tmp, ScriptedAPI() as api:
        base = Path(tmp)
        home = base / "home"
        for sub in ("tmp", "run"):
            (home / sub).mkdir(parents=True)
        env = quiet_env(api.url, str(home))
        hub = make_hub(base / "hub", binary, env)
        # the reference runs where a person runs 'claude -p': in a checkout of their repository
        # (Claude Code reads its git state as it starts, as it does in the change's worktree)
        plain = base / "checkout"
        _git(base, "clone", "-q", str(hub), str(plain))
        from specflow.engine.hub import Hub

        def direct(i: int) -> None:
            run_direct(phase_request(plain, f"direct-{i}", binary, env, base / "t"), binary, base)

        def adapter(i: int) -> None:
            result = ClaudeCodeAdapter().run(phase_request(plain, f"adapter-{i}", binary, env, base / "t"))
            if not result.ok:
                raise SystemExit(f"adapter run failed: {result.error}")

        def advance_api(i: int) -> None:
            Hub.open(hub).new_change(f"api-{i}")
            start = time.perf_counter()
            Hub.open(hub).change(f"api-{i}").advance()
            times["advance-api"].append(time.perf_counter() - start)

        def advance_cli(i: int) -> None:
            Hub.open(hub).new_change(f"cli-{i}")
            start = time.perf_counter()
            subprocess.run(
                [*specflow_command(), "-C", str(hub), "advance", f"cli-{i}", "--quiet"],
                check=True,
                capture_output=True,
                timeout=120,
                start_new_session=True,  # as typed in a terminal (see the module's docstring)
            )
            times["advance-cli"].append(time.perf_counter() - start)

        def timed(name: str, fn: Callable[[int], None]) -> Callable[[int], None]:
            def run(i: int) -> None:
                start = time.perf_counter()
                fn(i)
                times[name].append(time.perf_counter() - start)

            return run

        variants: list[Callable[[int], None]] = [
            timed("direct", direct),
            timed("adapter", adapter),
            advance_api,  # times only the advance, not new_change
            advance_cli,
        ]
        for fn in variants:  # warm-up: file caches, the binary's first start
            fn(9999)
        for key in times:
            times[key].clear()
        for i in range(args.runs):
            for fn in variants[i % len(variants) :] + variants[: i % len(variants)]:
                fn(i)
        requests = len(api.requests)
    medians = {k: statistics.median(v) for k, v in times.items()}
    ref = medians["direct"]
    report = {
        "runs": args.runs,
        "binary": str(binary),
        "median_s": {k: round(v, 4) for k, v in medians.items()},
        "ratio_to_direct": {k: round(v / ref, 3) for k, v in medians.items()},
        "api_requests": requests,
        "target_ratio": TARGET,
        "hog": args.hog,
        "load_before": load_before,
        "load_after": _load(),
    }
    missed = [k for k in times if k != "direct" and medians[k] / ref > TARGET]
    report["missed"] = missed
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        load = "; one core kept busy" if args.hog else ""
        print(f"claude-code adapter overhead ({args.runs} runs each, interleaved{load}; {binary})")
        print(f"  load average before {report['load_before']}, after {report['load_after']}")
        for name in times:
            verdict = "" if name == "direct" else ("  MISSED" if name in missed else "  ok")
            print(f"  {name:<12} median {medians[name] * 1000:7.1f} ms   {medians[name] / ref:5.2f}x direct{verdict}")
        print(f"  target: adapter and advance <= {TARGET}x direct")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
