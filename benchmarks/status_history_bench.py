"""``specflow status --all`` over long histories against the same hub with one-attempt histories.

    python benchmarks/status_history_bench.py [--changes 100] [--attempts 500] [--pairs 7]

Two hubs of ``--changes`` managed changes differ only in history length: ``--attempts`` agent
attempts each, or one.  Every history is written as the records writer leaves it (its last event
appended through ``append_event``, which keeps the running totals).  Whole ``specflow status --all``
processes are timed in interleaved pairs; where the pinned OpenSpec CLI is installed, ``openspec
list`` on the long-history hub is timed in the same run.  Targets (issue 16): long/short <= 1.2x,
specflow/openspec <= 0.2x.  Exits 1 on a miss.
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
from cli_bench import OPENSPEC, generate

from specflow.changestate.records import append_event
from specflow.changestate.recordtypes import HistoryEvent

HISTORY_RATIO = 1.2
OPENSPEC_RATIO = 0.2


def lengthen(hub: Path, attempts: int) -> None:
    """Give every change of ``hub`` a history of ``attempts`` agent attempts (the last appended by specflow)."""
    for d in sorted((hub / "openspec" / "changes").iterdir()):
        history = d / ".specflow" / "history.jsonl"
        if not history.is_file():
            continue
        lines = [history.read_text()]
        for k in range(attempts - 1):
            event = {
                "time": f"2026-11-24T01:{k // 60 % 60:02d}:{k % 60:02d}Z",
                "trigger": "advance",
                "from": "draft",
                "to": "explore",
                "outcome": "failed" if k % 3 else "succeeded",
                "reasons": [f"check {k} did not hold"],
                "agent": {
                    "name": "claude",
                    "session_id": f"s-{k}",
                    "cost_usd": 0.0123,
                    "duration_s": 12.5,
                    "tokens": {"input_tokens": 1200, "output_tokens": 340, "cache_read_input_tokens": 9000},
                },
            }
            lines.append(json.dumps(event, sort_keys=True) + "\n")
        history.write_text("".join(lines))
        append_event(
            d,
            HistoryEvent(
                trigger="advance",
                to="explore",
                outcome="succeeded",
                agent={"name": "claude", "cost_usd": 0.02, "tokens": {"input_tokens": 10}},
            ),
        )


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=True).stdout
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--attempts", type=int, default=500)
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args(argv)
    compile_specflow()
    specflow = specflow_command()
    tmp = Path(tempfile.mkdtemp(prefix="specflow-bench-"))
    try:
        long_hub, short_hub = tmp / "long", tmp / "short"
        generate(long_hub, args.changes)
        generate(short_hub, args.changes)
        lengthen(long_hub, args.attempts)
        lengthen(short_hub, 1)
        env = {**os.environ, "NO_COLOR": "1", "HOME": str(tmp / "home"), "XDG_CONFIG_HOME": str(tmp / "home")}
        env.update({"XDG_DATA_HOME": str(tmp / "home"), "OPENSPEC_TELEMETRY": "0", "DO_NOT_TRACK": "1"})
        status = [*specflow, "status", "--all"]
        openspec = [str(OPENSPEC), "list"] if OPENSPEC.exists() else None
        for hub in (long_hub, short_hub):
            timed(status, hub, env)  # warm the page cache
        if openspec:
            timed(openspec, long_hub, env)
        longs, shorts, refs = [], [], []
        for _ in range(args.pairs):
            longs.append(timed(status, long_hub, env)[0])
            shorts.append(timed(status, short_hub, env)[0])
            if openspec:
                refs.append(timed(openspec, long_hub, env)[0])
        long_ms, short_ms = statistics.median(longs) * 1000, statistics.median(shorts) * 1000
        ratio = long_ms / short_ms
        ok = ratio <= HISTORY_RATIO
        print(f"hub: {args.changes} changes; medians of {args.pairs} interleaved runs; {os.cpu_count()} CPUs")
        print(f"reference  status --all, 1-attempt histories:    {short_ms:8.1f} ms")
        print(f"specflow   status --all, {args.attempts}-attempt histories: {long_ms:8.1f} ms")
        print(f"ratio      {ratio:.2f}x (target <= {HISTORY_RATIO}x) {'ok' if ok else 'MISS'}")
        if refs:
            ref_ms = statistics.median(refs) * 1000
            vs = long_ms / ref_ms
            ok = ok and vs <= OPENSPEC_RATIO
            print(f"reference  openspec list, same hub:               {ref_ms:8.1f} ms")
            verdict = "ok" if vs <= OPENSPEC_RATIO else "MISS"
            print(f"ratio      {vs:.2f}x of openspec (target <= {OPENSPEC_RATIO}x) {verdict}")
        else:
            print("openspec list: not measured (no .tools/node_modules/.bin/openspec)")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
