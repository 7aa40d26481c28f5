"""Start-up of ``specflow --version`` and ``specflow status`` now against before the integration.

    python benchmarks/startup_bench.py [--before 61bbd14] [--changes 500] [--pairs 7]

The tree of commit ``--before`` (the regrouped code before the branches were merged in) is
extracted with ``git archive`` into a temporary folder, byte-compiled like this one, and both run
as ``python -m specflow`` with their own tree first on ``PYTHONPATH``, in interleaved pairs, on a
hub of ``--changes`` managed changes (``cli_bench.generate``).  Target (issue 16): now / before
<= 1.0x for each command, within a 5% allowance for noise.  Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import compileall
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from cli_bench import generate

ROOT = Path(__file__).resolve().parent.parent
ALLOWANCE = 1.05


def extract(commit: str, into: Path) -> None:
    """The specflow package of ``commit`` and its built-in workflows and templates, under ``into``."""
    paths = ["specflow", "workflows", "templates"]  # the built-ins sit beside the package in a checkout
    archive = subprocess.run(["git", "archive", commit, *paths], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 on
            tar.extractall(into, filter="data")
        else:  # our own repository's archive
            tar.extractall(into)
    compileall.compile_dir(into / "specflow", quiet=1)


def timed(tree: Path, argv: list[str], hub: Path) -> float:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "specflow", *argv], cwd=hub, env=env, capture_output=True, check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default="61bbd14")
    ap.add_argument("--changes", type=int, default=500)
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args(argv)
    compileall.compile_dir(ROOT / "specflow", quiet=1)
    tmp = Path(tempfile.mkdtemp(prefix="specflow-bench-"))
    failed = False
    try:
        old = tmp / "before"
        extract(args.before, old)
        hub = tmp / "hub"
        generate(hub, args.changes)
        print(f"hub: {args.changes} changes; medians of {args.pairs} interleaved pairs; {os.cpu_count()} CPUs")
        print(f"{'command':24} {'before':>10} {'now':>10} {'ratio':>7}")
        for command in (["--version"], ["status"]):
            for tree in (old, ROOT):
                timed(tree, command, hub)  # warm the page cache
            before: list[float] = []
            now: list[float] = []
            for _ in range(args.pairs):
                before.append(timed(old, command, hub))
                now.append(timed(ROOT, command, hub))
            b, n = statistics.median(before) * 1000, statistics.median(now) * 1000
            ok = n / b <= ALLOWANCE
            failed |= not ok
            name = "specflow " + " ".join(command)
            print(f"{name:24} {b:8.1f}ms {n:8.1f}ms {n / b:6.2f}x {'ok' if ok else 'MISS'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
