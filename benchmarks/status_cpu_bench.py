"""CPU time of ``specflow status`` on a hub of 500 changes against ``git status`` on the same repo.

    python benchmarks/status_cpu_bench.py [--changes 500] [--pairs 7]

The hub (``cli_bench.generate``: every change with artifacts, state and history) is committed to
a git repository; ``git status`` and ``specflow status`` run as processes in interleaved pairs and
the CPU time (user + system) of each process is taken from the kernel's accounting of children,
so other load on the machine does not count.  Target (issue 16): median specflow / median git
<= 3x.  Exits 1 on a miss.

``status`` keeps each change's row with the stamps of its files and trusts a stamp only once the
file is two seconds old (``statusindex.RACY_NS``: a write within the same mtime tick would go
unseen).  The runs start once the generated files are that old, as in a hub at rest: a change
written in the last two seconds is computed again on every ``status`` until then.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bytecode import compile_specflow, specflow_command
from cli_bench import generate

from specflow.engine.statusindex import RACY_NS

TARGET = 3.0


def cpu_s(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """CPU seconds (user + system) the process and its children used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def git(hub: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=hub, check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--changes", type=int, default=500)
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args(argv)
    compile_specflow()
    specflow = specflow_command()
    tmp = Path(tempfile.mkdtemp(prefix="specflow-bench-"))
    try:
        hub = tmp / "hub"
        generate(hub, args.changes)
        git(hub, "init", "-q", "-b", "main")
        git(hub, "add", "-A")
        git(hub, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "hub")
        env = {**os.environ, "NO_COLOR": "1"}
        reference = ["git", "status"]
        status = [*specflow, "status"]
        time.sleep(RACY_NS / 1e9 + 0.1)  # the generated files settle (see above)
        cpu_s(reference, hub, env)  # warm the page cache and the index
        cpu_s(status, hub, env)
        refs: list[float] = []
        ours: list[float] = []
        for _ in range(args.pairs):
            refs.append(cpu_s(reference, hub, env))
            ours.append(cpu_s(status, hub, env))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ref_ms, our_ms = statistics.median(refs) * 1000, statistics.median(ours) * 1000
    ratio = our_ms / ref_ms
    print(f"hub: {args.changes} changes in git; CPU medians of {args.pairs} interleaved pairs; {os.cpu_count()} CPUs")
    print(f"reference  git status:      {ref_ms:7.1f} ms CPU")
    print(f"specflow   specflow status: {our_ms:7.1f} ms CPU")
    print(f"ratio      {ratio:.2f}x (target <= {TARGET}x) {'ok' if ratio <= TARGET else 'MISS'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
