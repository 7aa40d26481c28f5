"""A phase's overhead through the Python API, with the change's worktree of the hub: ``Change.advance``
with a trivial agent against running that agent alone.

    python benchmarks/api_bench.py [--pairs 7]

A committed hub, one writing phase (not the final one, so nothing lands on main; the third
variant's is), an agent that runs ``true``, the sandbox off.  Each change is made beforehand
(``Hub.new_change``: its branch and its worktree of the hub), so what is timed is the phase:
lock, in-flight record, gate, prompt (Jinja2), checkpoint of the worktree, the agent, audit,
specflow's commit of the work, records and their commit.  In interleaved pairs, each on a fresh change:

- the reference: the agent's own command, ``true``, started as the adapter starts it;
- ``Change.advance()`` in this process;
- ``Change.advance()`` of a change whose phase is its workflow's final state: the same, then its
  branch lands on main (the merge, the checks of main's checkout, the merge commit, the checkout
  moved), as ``specflow advance`` does in ``advance_bench.py``'s second figure.

Target (issue 10): the overhead, advance minus the agent, at most 60 ms.  Exits 1 on a miss.
The final state's figure is printed beside it: what landing adds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from advance_bench import CONFIG, FINAL_WORKFLOW, TEMPLATE, WORKFLOW, git

from specflow import Hub

OVERHEAD_MS = 60.0


def make_hub(root: Path, changes: int) -> Hub:
    """A committed hub with the bench workflow and ``changes`` changes on their branches, in draft."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for key, value in (("user.email", "bench@example.com"), ("user.name", "Bench"), ("commit.gpgsign", "false")):
        git(root, "config", key, value)
    Hub.init(root)
    (root / "openspec" / "workflows").mkdir(parents=True, exist_ok=True)
    (root / "openspec" / "templates").mkdir(parents=True, exist_ok=True)
    (root / "openspec" / "workflows" / "bench.yaml").write_text(WORKFLOW, encoding="utf-8")
    (root / "openspec" / "workflows" / "bench-final.yaml").write_text(FINAL_WORKFLOW, encoding="utf-8")
    (root / "openspec" / "templates" / "think.md.j2").write_text(TEMPLATE, encoding="utf-8")
    (root / "specflow.yaml").write_text(CONFIG, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bench hub")
    hub = Hub.open(root)
    for i in range(changes):
        hub.new_change(f"c-{i}")
        hub.new_change(f"f-{i}", workflow="bench-final")
    return hub


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="specflow-api-bench-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "xdg")
    try:
        hub = make_hub(tmp / "hub", args.pairs + 1)
        hub.change(f"c-{args.pairs}").advance()  # warm: imports, caches, the page cache
        hub.change(f"f-{args.pairs}").advance()
        agent: list[float] = []
        advance: list[float] = []
        final: list[float] = []
        for i in range(args.pairs):
            start = time.perf_counter()
            subprocess.run(["true"], stdin=subprocess.DEVNULL, capture_output=True, check=True)
            agent.append(time.perf_counter() - start)
            for prefix, times in (("c", advance), ("f", final)):
                change = hub.change(f"{prefix}-{i}")
                start = time.perf_counter()
                (result,) = change.advance()
                times.append(time.perf_counter() - start)
                assert result.ok and result.to_state == "think", result.reasons
        agent_ms, advance_ms, final_ms = (statistics.median(v) * 1000 for v in (agent, advance, final))
        print(f"{'':40}{'median ms':>10}{'overhead':>10}")
        print(f"{'the agent alone (true)':40}{agent_ms:>10.1f}")
        print(f"{'Change.advance()':40}{advance_ms:>10.1f}{advance_ms - agent_ms:>10.1f}")
        print(f"{'Change.advance(), final state: lands':40}{final_ms:>10.1f}{final_ms - agent_ms:>10.1f}")
        ok = advance_ms - agent_ms <= OVERHEAD_MS
        print(
            f"\noverhead {advance_ms - agent_ms:.1f} ms over {args.pairs} interleaved runs each"
            f" (target <= {OVERHEAD_MS:.0f} ms): "
            + ("met" if ok else "MISSED")
            + f"; landing the final state adds {final_ms - advance_ms:.1f} ms"
        )
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
