"""Checkpoint #200 of a change against checkpoint #1 of another, on the same hub, in one run.

    python benchmarks/checkpoint_count_bench.py [--files 2000] [--before 199] [--pairs 7]

On a generated hub (``workspace_gen.py``), one change is given ``--before`` checkpoints first;
then, in interleaved pairs, a second change takes checkpoint #1 (its checkpoint refs deleted
before each, its snapshot index kept warm, as the long change's is) and the long change takes
its next one (#200 and on).  Numbering a checkpoint must not grow with the checkpoints before
it.  Target (issue 16): median #200 / median #1 <= 1.1x.  Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workspace_gen import generate

from specflow.definitions.config import HubConfig
from specflow.workspace.workspaces import Workspaces

TARGET = 1.1


def checkpoint_s(ws: Workspaces) -> tuple[float, int]:
    start = time.perf_counter()
    cp = ws.checkpoint(phase="apply", state="propose")
    return time.perf_counter() - start, cp.number


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--before", type=int, default=199)
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="specflow-bench-"))
    try:
        hub = generate(base / "hub", args.files, 20)
        long = Workspaces(hub, HubConfig(), "long-change", [])
        for _ in range(args.before):
            long.checkpoint(phase="apply", state="propose")
        firsts: list[float] = []
        lasts: list[float] = []
        numbers: list[int] = []
        short = Workspaces(hub, HubConfig(), "short-change", [])
        checkpoint_s(short)  # its snapshot index, as warm as the long change's
        for _ in range(args.pairs):
            short.store.delete_all([short.store.hub_repo])
            first, number = checkpoint_s(short)
            assert number == 1, number
            last, number = checkpoint_s(long)
            firsts.append(first)
            lasts.append(last)
            numbers.append(number)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    first_ms, last_ms = statistics.median(firsts) * 1000, statistics.median(lasts) * 1000
    ratio = last_ms / first_ms
    print(f"hub: {args.files} tracked files; medians of {args.pairs} interleaved pairs")
    print(f"reference  checkpoint #1:                 {first_ms:8.1f} ms")
    print(f"specflow   checkpoint #{numbers[0]}-#{numbers[-1]}:          {last_ms:8.1f} ms")
    print(f"ratio      {ratio:.2f}x (target <= {TARGET}x) {'ok' if ratio <= TARGET else 'MISS'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
