"""Start-up benchmark of the specflow CLI on a generated hub with 500 managed changes.

    python benchmarks/cli_bench.py [--changes 500] [--runs 15]

Times, as whole processes, the median of ``specflow --version``, ``specflow list --json`` and
``specflow status <id> --json``; where the real OpenSpec CLI is installed (.tools/), the same
run times ``openspec --version`` and ``openspec list --json`` on the same tree for the ratios.
Targets (issue 2): list <= 150 ms, version <= 100 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bytecode import compile_specflow, specflow_command

ROOT = Path(__file__).resolve().parent.parent
OPENSPEC = ROOT / ".tools" / "node_modules" / ".bin" / "openspec"


def generate(hub: Path, n: int) -> list[str]:
    """A hub with ``n`` changes under the openspec workflow, each with artifacts and history."""
    (hub / "openspec" / "specs").mkdir(parents=True)
    (hub / "openspec" / "changes" / "archive").mkdir(parents=True)
    (hub / "openspec" / "config.yaml").write_text("schema: spec-driven\n")
    ids = []
    states = ["draft", "explore", "propose", "apply"]
    for i in range(n):
        cid = f"change-{i:04d}"
        ids.append(cid)
        d = hub / "openspec" / "changes" / cid
        (d / "specs" / f"cap-{i % 50}").mkdir(parents=True)
        (d / ".openspec.yaml").write_text("schema: spec-driven\ncreated: 2026-11-24\n")
        (d / "proposal.md").write_text(f"## Why\nChange {i} is needed.\n\n## What Changes\n- thing {i}\n")
        tasks = "\n".join(f"- [{'x' if j < i % 6 else ' '}] 1.{j} task {j}" for j in range(6))
        (d / "tasks.md").write_text(f"## 1. Work\n{tasks}\n")
        (d / "specs" / f"cap-{i % 50}" / "spec.md").write_text(
            f"## ADDED Requirements\n### Requirement: Thing {i}\nThe system SHALL do thing {i}.\n\n"
            f"#### Scenario: Works\n- **WHEN** asked\n- **THEN** it does thing {i}\n"
        )
        sd = d / ".specflow"
        sd.mkdir()
        state = states[i % 4]
        (sd / "state.json").write_text(
            json.dumps(
                {
                    "version": 1,
                    "workflow": "openspec",
                    "state": state,
                    "repos": [],
                    "approvals": [],
                    "in_flight": None,
                    "last_failure": None,
                }
            )
        )
        events = [{"time": "2026-11-24T00:00:00Z", "trigger": "new", "from": None, "to": "draft", "outcome": "created"}]
        for k in range(1, (i % 4) + 1):
            events.append(
                {
                    "time": "2026-11-24T00:00:01Z",
                    "trigger": "advance",
                    "from": states[k - 1],
                    "to": states[k],
                    "outcome": "succeeded",
                    "agent": {"name": "x", "cost_usd": 0.01, "tokens": {"input_tokens": 100}},
                }
            )
        (sd / "history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return ids


def median_ms(argv: list[str], cwd: Path, runs: int, env: dict[str, str]) -> float:
    times = []
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=True)  # warm the page cache
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--changes", type=int, default=500)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args(argv)
    compile_specflow()
    specflow = specflow_command()
    tmp = Path(tempfile.mkdtemp(prefix="specflow-bench-"))
    try:
        hub = tmp / "hub"
        ids = generate(hub, args.changes)
        env = {**os.environ, "NO_COLOR": "1"}
        qenv = {
            **env,
            "HOME": str(tmp / "home"),
            "XDG_CONFIG_HOME": str(tmp / "home"),
            "XDG_DATA_HOME": str(tmp / "home"),
            "OPENSPEC_TELEMETRY": "0",
            "DO_NOT_TRACK": "1",
            "OPENSPEC_NO_UPDATE_CHECK": "1",
        }
        rows = [
            ("specflow --version", median_ms([*specflow, "--version"], hub, args.runs, env), 100.0),
            ("specflow list --json", median_ms([*specflow, "list", "--json"], hub, args.runs, env), 150.0),
            (
                "specflow status <id> --json",
                median_ms([*specflow, "status", ids[len(ids) // 2], "--json"], hub, args.runs, env),
                None,
            ),
        ]
        ref: dict[str, float] = {}
        if OPENSPEC.exists():
            ref["specflow --version"] = median_ms([str(OPENSPEC), "--version"], hub, args.runs, qenv)
            ref["specflow list --json"] = median_ms([str(OPENSPEC), "list", "--json"], hub, args.runs, qenv)
        print(f"hub: {args.changes} managed changes; medians of {args.runs} runs; {os.cpu_count()} CPUs")
        print(f"{'command':32} {'specflow':>10} {'target':>8} {'openspec':>10} {'ratio':>7}")
        for name, ms, target in rows:
            r = ref.get(name)
            ratio = f"{r / ms:5.1f}x" if r else "-"
            print(
                f"{name:32} {ms:8.1f}ms {(f'{target:.0f}ms' if target else '-'):>8} "
                f"{(f'{r:8.1f}ms' if r else '-'):>10} {ratio:>7}"
            )
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
