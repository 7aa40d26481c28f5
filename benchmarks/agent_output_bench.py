"""What reading an agent's output costs: a 500 MiB flood and 200,000 event lines, vs reading it raw.

    .venv/bin/python benchmarks/agent_output_bench.py [--runs 3] [--flood-mib 500] [--lines 200000] [--json]

Each measurement runs in a fresh child Python, which reports its wall time and peak memory
(``VmHWM``, which unlike ``ru_maxrss`` does not carry over the forked parent's; the agent is a
grandchild and not counted).  The variants, interleaved run by run
so drift hits them alike:

- ``flood/direct``: ``subprocess.run(capture_output=True)`` on an agent writing ``--flood-mib`` MiB
  to stdout — the reference (what reading the output whole costs);
- ``flood/adapter``: the ``command`` adapter on the same agent (1 MiB held, 64 MiB transcript);
- ``plain/direct`` and ``events/direct``: ``subprocess.run(capture_output=True)`` on an agent
  writing ``--lines`` plain progress lines, or as many event lines (tool calls), to stderr — the
  references;
- ``plain/adapter`` and ``events/adapter``: the adapter on the same agents (each event line
  parsed, summarised and sent as an event).

Medians, ratios to the reference, and microseconds per line for the line variants.  Target: the
adapter's peak memory on the flood stays under 64 MiB whatever the flood's size; the exit code is
1 when it does not.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MEMORY_TARGET_MIB = 64

FLOOD = """
import sys
chunk = b"x" * (1 << 20)
for _ in range({mib}):
    sys.stdout.buffer.write(chunk)
"""

LINES = """
import json, sys
out = sys.stderr
for i in range({n}):
    if {events}:
        event = {{"specflow": 1, "event": "tool", "name": "Read", "input": {{"file_path": f"src/f{{i}}.py"}}}}
        out.write(json.dumps(event))
    else:
        out.write(f"reading src/f{{i}}.py")
    out.write("\\n")
"""

CHILD = r"""
import json, resource, subprocess, sys, time
from pathlib import Path

def peak_mib():
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # no /proc (macOS): ru_maxrss, in bytes there
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
mode, agent, tmp = sys.argv[1], sys.argv[2], Path(sys.argv[3])
start = time.perf_counter()
if mode == "direct":
    subprocess.run([sys.executable, agent], capture_output=True, check=True)
else:
    from specflow.agents import get_adapter
    from specflow.agents.base import AgentRequest
    from specflow.workspace.gates import GatePolicy
    result = get_adapter("command").run(
        AgentRequest(prompt="", cwd=tmp, gate=GatePolicy(hub=tmp), hub=tmp, change_id="bench", phase="apply",
                     transcript_dir=tmp / "transcripts", timeout=600, options={"command": [sys.executable, agent]})
    )
    assert result.ok, result.error
elapsed = time.perf_counter() - start
print(json.dumps({"s": elapsed, "maxrss_mib": peak_mib()}))
"""


def measure(mode: str, agent: Path, tmp: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(agent), str(tmp)], cwd=REPO, capture_output=True, text=True, check=True
    )
    data: dict[str, float] = json.loads(out.stdout)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--flood-mib", type=int, default=500)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="specflow-output-bench-") as tmp_name:
        tmp = Path(tmp_name)
        agents = {
            "flood": tmp / "flood.py",
            "plain": tmp / "plain.py",
            "events": tmp / "events.py",
        }
        agents["flood"].write_text(FLOOD.format(mib=args.flood_mib))
        agents["plain"].write_text(LINES.format(n=args.lines, events=False))
        agents["events"].write_text(LINES.format(n=args.lines, events=True))
        variants = {
            "flood/direct": ("direct", agents["flood"]),
            "flood/adapter": ("adapter", agents["flood"]),
            "plain/direct": ("direct", agents["plain"]),
            "plain/adapter": ("adapter", agents["plain"]),
            "events/direct": ("direct", agents["events"]),
            "events/adapter": ("adapter", agents["events"]),
        }
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, (mode, agent) in variants.items():
                samples[name].append(measure(mode, agent, tmp))
    report: dict[str, dict[str, float]] = {}
    for name, runs in samples.items():
        report[name] = {
            "median_s": statistics.median(r["s"] for r in runs),
            "peak_mib": max(r["maxrss_mib"] for r in runs),
        }
    for name, row in report.items():
        ref = report[name.split("/")[0] + "/direct"]
        row["time_ratio"] = row["median_s"] / ref["median_s"]
        row["memory_ratio"] = row["peak_mib"] / ref["peak_mib"]
        if not name.startswith("flood/"):
            row["us_per_line"] = row["median_s"] / args.lines * 1e6
    ok = report["flood/adapter"]["peak_mib"] < MEMORY_TARGET_MIB
    if args.json:
        print(json.dumps({"runs": args.runs, "flood_mib": args.flood_mib, "lines": args.lines, "results": report}))
    else:
        print(f"{args.runs} runs; flood {args.flood_mib} MiB on stdout; {args.lines:,} stderr lines")
        print(f"{'variant':<15} {'median s':>9} {'x ref':>7} {'peak MiB':>9} {'x ref':>7} {'us/line':>8}")
        for name, row in report.items():
            per_line = f"{row['us_per_line']:.1f}" if "us_per_line" in row else "-"
            print(
                f"{name:<15} {row['median_s']:>9.3f} {row['time_ratio']:>7.2f}"
                f" {row['peak_mib']:>9.1f} {row['memory_ratio']:>7.2f} {per_line:>8}"
            )
        verdict = "meets" if ok else "MISSES"
        print(f"flood/adapter peak memory {verdict} the target of < {MEMORY_TARGET_MIB} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
