"""specflow vs the real OpenSpec CLI on a 500-change / 200-spec tree, timed in the same run.

    .venv/bin/python benchmarks/openspec_bench.py [--runs 9] [--changes 500] [--specs 200] [--regen]

Times, alternating the two tools run by run so machine load hits both alike:

- ``openspec validate --all --strict --json`` vs ``specflow validate --all --strict --json``
- ``openspec list --json`` vs ``specflow list --json``

and prints the medians and the ratios (target: specflow at least 5x faster).  The outputs are
compared too (validate: every item's verdict and issues; list: every change's counts), so a fast
wrong answer does not pass.  The OpenSpec CLI is looked up at ``.tools/node_modules/.bin/openspec``
or ``$SPECFLOW_OPENSPEC``; the tree is generated under ``benchmarks/.data/`` (git-ignored).
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
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from gen_openspec_tree import generate  # noqa: E402


def _openspec() -> Path:
    env = os.environ.get("SPECFLOW_OPENSPEC")
    path = Path(env) if env else REPO / ".tools" / "node_modules" / ".bin" / "openspec"
    if not path.is_file():
        sys.exit(
            "openspec CLI not installed: run bash .ci/run or npm install --prefix .tools @fission-ai/openspec@1.13.2"
        )
    return path


def _specflow() -> list[str]:
    script = Path(sys.executable).parent / "specflow"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "specflow"]


def _quiet_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        OPENSPEC_TELEMETRY="0",
        DO_NOT_TRACK="1",
        OPENSPEC_NO_UPDATE_CHECK="1",
        NO_COLOR="1",
    )
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        sys.exit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def _same_validate(theirs: str, mine: str) -> str | None:
    a, b = json.loads(theirs), json.loads(mine)
    for doc in (a, b):
        for item in doc["items"]:
            item.pop("durationMs", None)
    if a["items"] != b["items"]:
        diff = sum(1 for x, y in zip(a["items"], b["items"], strict=False) if x != y)
        return f"{diff} item(s) differ"
    if a["summary"] != b["summary"]:
        return "summaries differ"
    return None


def _same_list(theirs: str, mine: str) -> str | None:
    a, b = json.loads(theirs), json.loads(mine)
    strip = [{k: v for k, v in c.items() if k not in ("state", "workflow")} for c in b["changes"]]
    return None if a["changes"] == strip else "list entries differ"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=9, help="timed runs per command (default 9)")
    p.add_argument("--changes", type=int, default=500)
    p.add_argument("--specs", type=int, default=200)
    p.add_argument("--regen", action="store_true", help="regenerate the tree")
    p.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = p.parse_args(argv)

    openspec = _openspec()
    tree = HERE / ".data" / f"openspec-{args.changes}x{args.specs}"
    if args.regen or not (tree / "openspec").is_dir():
        generate(tree, args.changes, args.specs)
    files = sum(len(f) for _, _, f in os.walk(tree))
    home = Path(tempfile.mkdtemp(prefix="openspec-bench-home-"))
    env = _quiet_env(home)
    sf = _specflow()
    pairs: list[tuple[str, list[str], list[str], Any]] = [
        (
            "validate --all --strict --json",
            [str(openspec), "validate", "--all", "--strict", "--json", "--no-interactive"],
            [*sf, "validate", "--all", "--strict", "--json"],
            _same_validate,
        ),
        ("list --json", [str(openspec), "list", "--json"], [*sf, "list", "--json"], _same_list),
    ]
    print(f"tree: {tree} ({args.changes} changes, {args.specs} specs, {files} files); {args.runs} runs each")
    rows: list[dict[str, Any]] = []
    for label, theirs_cmd, ours_cmd, same in pairs:
        _, theirs_out = _run(theirs_cmd, tree, env)  # warm-up, and the reference output
        _, ours_out = _run(ours_cmd, tree, env)
        problem = same(theirs_out, ours_out)
        theirs_t: list[float] = []
        ours_t: list[float] = []
        for _ in range(args.runs):
            theirs_t.append(_run(theirs_cmd, tree, env)[0])
            ours_t.append(_run(ours_cmd, tree, env)[0])
        t_med, o_med = statistics.median(theirs_t), statistics.median(ours_t)
        rows.append(
            {
                "command": label,
                "openspec_s": round(t_med, 4),
                "specflow_s": round(o_med, 4),
                "ratio": round(t_med / o_med, 2),
                "same_output": problem is None,
                "note": problem or "",
            }
        )
    w = max(len(r["command"]) for r in rows)
    print(f"\n{'command':<{w}}  {'openspec':>9}  {'specflow':>9}  {'ratio':>7}  output")
    print("-" * (w + 42))
    for r in rows:
        same = "identical" if r["same_output"] else f"DIFFERS: {r['note']}"
        print(f"{r['command']:<{w}}  {r['openspec_s']:>8.3f}s  {r['specflow_s']:>8.3f}s  {r['ratio']:>6.1f}x  {same}")
    print("\nmedians of", args.runs, "runs; ratio = openspec / specflow (target >= 5x)")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0 if all(r["same_output"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
