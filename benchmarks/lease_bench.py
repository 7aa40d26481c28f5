"""What a change's lease adds to a phase: take + release against a plain push + delete, in one run.

    python benchmarks/lease_bench.py [--pairs 9]

A bare remote and a clone in a temporary folder (a local remote: the cost is git's, not the
network's).  In interleaved pairs: the reference pushes a commit to a ref of the remote and
deletes it (two ``git push``); specflow takes the change's lease (``ls-remote``, a commit,
a compare-and-swap push) and releases it (a compare-and-swap delete).  A phase pays this once,
plus one renewal push every third of ``lease_seconds``.  Target: median lease / median
reference <= 2.0x.  Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from specflow.engine.lease import Lease
from specflow.workspace.git import GitRepo

TARGET = 2.0


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def reference_s(clone: Path, sha: str) -> float:
    start = time.perf_counter()
    git(clone, "push", "-q", "origin", f"{sha}:refs/bench/plain")
    git(clone, "push", "-q", "origin", ":refs/bench/plain")
    return time.perf_counter() - start


def lease_s(repo: GitRepo) -> float:
    start = time.perf_counter()
    lease = Lease.take(repo, "origin", "bench-change", seconds=120, machine="bench")
    lease.release()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=9)
    args = ap.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="specflow-bench-"))
    try:
        bare, clone = base / "remote.git", base / "clone"
        bare.mkdir()
        git(bare, "init", "-q", "--bare", "-b", "main")
        clone.mkdir()
        git(clone, "init", "-q", "-b", "main")
        git(clone, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "--allow-empty", "-m", "start")
        git(clone, "remote", "add", "origin", str(bare))
        git(clone, "push", "-q", "origin", "main")
        sha = git(clone, "rev-parse", "HEAD").strip()
        repo = GitRepo.open(clone)
        reference_s(clone, sha), lease_s(repo)  # warm both paths
        refs, leases = [], []
        for _ in range(args.pairs):
            refs.append(reference_s(clone, sha))
            leases.append(lease_s(repo))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    ref_ms, lease_ms = statistics.median(refs) * 1000, statistics.median(leases) * 1000
    ratio = lease_ms / ref_ms
    print(f"medians of {args.pairs} interleaved pairs, local bare remote")
    print(f"reference  git push + git push --delete:   {ref_ms:8.1f} ms")
    print(f"specflow   lease take + release:          {lease_ms:8.1f} ms")
    print(f"ratio      {ratio:.2f}x (target <= {TARGET}x) {'ok' if ratio <= TARGET else 'MISS'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
