"""specflow vs the real OpenSpec CLI on generated OpenSpec trees, timed in the same run.

    .venv/bin/python benchmarks/openspec_bench.py [--figure tree|scale|big-specs|show|all] [--runs 9]
        [--changes 500] [--specs 200] [--sizes 100,1000,5000] [--regen] [--load] [--json]

Each figure runs a reference command and specflow's in interleaved rounds (each round starts with a
different command, so machine load hits all alike), prints the medians and the ratio, compares the
outputs (a fast wrong answer does not pass) and exits 1 on any miss.  ``--load`` keeps one core
busy with a CPU hog (stopped by its pid at the end) while timing.  Beside each wall-clock median it
prints the median CPU time (user + system of the command and its children), far less sensitive to
other work on the machine, and the load averages before and after the rounds; the verdict is on
wall-clock time.

``tree`` (the default), on 500 changes x 200 specs: ``validate --all --strict --json`` (at least
10x faster than OpenSpec, every verdict and issue identical) and ``list --json`` (5x).

``scale`` (issue 16): ``validate --all --strict --json`` on trees of ``--sizes`` changes (default
100, 1,000 and 5,000, with ``--specs`` specs): at least 10x faster at every size.

``validate --all`` in a hub specflow has used (one with ``.specflow/``) keeps each item's issues in
a validation index and reads them back while no file they came from changed, so ``tree`` and
``scale`` time specflow three times against the same OpenSpec runs: *plain* (no ``.specflow/``, as in
any OpenSpec project: every item validated, nothing kept), *cold* (a hub with its index removed
before each run, so every item is validated and its files stamped for the index written) and *warm*
(the index kept from the run before, as after any earlier ``validate``).  Each has its own verdict.

``big-specs`` (issue 16): ``specflow validate --all --strict --json`` over 500 changes that modify
three 1,000-requirement specs, against the same command on the ordinary 500-change tree, both
without an index: it may cost at most 1.5x as much (each change must not re-read the big specs).
``show`` (issue 16): ``show <spec> --json`` of a 5,000-requirement spec: at least 5x faster than
OpenSpec, the bytes identical.

The OpenSpec CLI is looked up at ``.tools/node_modules/.bin/openspec`` or ``$SPECFLOW_OPENSPEC``;
the trees are generated under ``benchmarks/.data/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Targets (issues 2 and 16): validate at least 10x faster than OpenSpec at 100-5,000 changes, list 5x.
VALIDATE_SPEEDUP = 10
LIST_SPEEDUP = 5
#: Seconds a file must age before specflow's validation index trusts its stamp (engine's RACY_NS).
RACY_S = 2.1

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bytecode import compile_specflow, specflow_command  # noqa: E402
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
    """The ``specflow`` command, byte-compiled first (as an installed one is), so no run compiles."""
    compile_specflow()
    return specflow_command()


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


def _children_cpu() -> float:
    """User + system seconds of every finished child so far (a run's is the difference)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    elapsed, _, stdout = _run_cpu(cmd, cwd, env)
    return elapsed, stdout


def _run_cpu(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the command and its children) and stdout of one run."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        sys.exit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, cpu, proc.stdout


def _load() -> str:
    """The 1-, 5- and 15-minute load averages (2 cores: above ~1.5, other work shares the machine)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


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


def _same_bytes(theirs: str, mine: str) -> str | None:
    return None if theirs == mine else "stdout differs"


def _tree(changes: int, specs: int, requirements: int | None, regen: bool) -> Path:
    size = f"{changes}x{specs}" + (f"x{requirements}" if requirements else "")
    tree = HERE / ".data" / f"openspec-{size}"
    if regen or not (tree / "openspec").is_dir():
        generate(tree, changes, specs, requirements=requirements)
        time.sleep(RACY_S)  # files younger than this are never kept in specflow's validation index
    return tree


@dataclass
class Run:
    """One command of a figure; ``before`` runs untimed ahead of each timed run."""

    name: str
    command: list[str]
    cwd: Path
    before: Callable[[], None] | None = None


@dataclass
class Figure:
    """A reference command against one or more specflow runs, timed in interleaved rounds."""

    label: str
    reference: Run
    runs: list[Run]  # specflow's
    goal: str  # "speedup >= N" (reference / specflow) or "cost <= N" (specflow / reference)
    same: Callable[[str, str], str | None]  # a difference between the outputs, or None

    def ratio(self, ref_s: float, ours_s: float) -> float:
        """The figure the goal is about."""
        return ref_s / ours_s if self.goal.startswith("speedup") else ours_s / ref_s

    def met(self, ratio: float) -> bool:
        """Whether ``ratio`` meets the goal."""
        kind, _, bound = self.goal.split()
        return ratio >= float(bound) if kind == "speedup" else ratio <= float(bound)


def _timed(run: Run, env: dict[str, str]) -> tuple[float, float, str]:
    if run.before is not None:
        run.before()
    return _run_cpu(run.command, run.cwd, env)


def _rounds(figure: Figure, rounds: int, env: dict[str, str]) -> tuple[list[list[float]], list[list[float]]]:
    """Wall and CPU seconds per run (reference first), each round starting with a different command."""
    order = [figure.reference, *figure.runs]
    times: list[list[float]] = [[] for _ in order]
    cpus: list[list[float]] = [[] for _ in order]
    for run in order:  # warm-up: file cache, bytecode, specflow's index
        _timed(run, env)
    for i in range(rounds):
        for k in range(len(order)):
            j = (i + k) % len(order)
            wall, cpu, _ = _timed(order[j], env)
            times[j].append(wall)
            cpus[j].append(cpu)
    return times, cpus


def _index_runs(command: list[str], tree: Path) -> list[Run]:
    """specflow in a plain OpenSpec project (no ``.specflow/``: no index read or kept), and in a hub
    without its validation index (removed before each run, so each run builds it) and with it."""

    def cold() -> None:
        _hub(tree)
        (tree / ".specflow" / "cache" / "validate.json").unlink(missing_ok=True)

    return [
        Run("plain (no .specflow/)", command, tree, lambda: _set_aside(tree)),
        Run("cold (no index yet)", command, tree, cold),
        Run("warm (index kept)", command, tree, lambda: _hub(tree)),
    ]


_ASIDE = ".specflow-aside"


def _hub(tree: Path) -> None:
    """Make the tree a hub specflow has used: it keeps its validation index in ``.specflow/``."""
    aside = tree / _ASIDE
    if aside.is_dir() and not (tree / ".specflow").exists():
        aside.rename(tree / ".specflow")  # back from a plain run, with the index it kept
    (tree / ".specflow").mkdir(exist_ok=True)


def _set_aside(tree: Path) -> None:
    """Make the tree a plain OpenSpec project for one run: its ``.specflow/`` moved aside, kept for the next."""
    hub = tree / ".specflow"
    if hub.is_dir():
        shutil.rmtree(tree / _ASIDE, ignore_errors=True)
        hub.rename(tree / _ASIDE)


def _plain(tree: Path) -> None:
    """Make the tree a plain OpenSpec project: no ``.specflow/``, so no index is read or kept."""
    shutil.rmtree(tree / ".specflow", ignore_errors=True)


def _figures(args: argparse.Namespace) -> list[Figure]:
    openspec, sf = str(_openspec()), _specflow()
    validate = [*sf, "validate", "--all", "--strict", "--json"]
    reference = [openspec, "validate", "--all", "--strict", "--json", "--no-interactive"]
    speedup = f"speedup >= {VALIDATE_SPEEDUP}"
    figures: list[Figure] = []
    if args.figure in ("tree", "all"):
        tree = _tree(args.changes, args.specs, None, args.regen)
        label = f"validate --all --strict --json: {args.changes} changes x {args.specs} specs"
        figures.append(
            Figure(label, Run("openspec", reference, tree), _index_runs(validate, tree), speedup, _same_validate)
        )
        figures.append(
            Figure(
                f"list --json: {args.changes} changes x {args.specs} specs",
                Run("openspec", [openspec, "list", "--json"], tree),
                [Run("specflow", [*sf, "list", "--json"], tree)],
                f"speedup >= {LIST_SPEEDUP}",
                _same_list,
            )
        )
    if args.figure in ("scale", "all"):
        for changes in args.sizes:
            tree = _tree(changes, args.specs, None, args.regen)
            label = f"validate --all --strict --json: {changes} changes x {args.specs} specs"
            figures.append(
                Figure(label, Run("openspec", reference, tree), _index_runs(validate, tree), speedup, _same_validate)
            )
    if args.figure in ("big-specs", "all"):
        ordinary = _tree(500, 200, None, args.regen)
        big = _tree(500, 3, 1000, args.regen)
        figures.append(
            Figure(
                "validate --all (no index): 500 changes x three 1,000-requirement specs vs the ordinary tree",
                Run("specflow, ordinary tree", validate, ordinary, lambda: _plain(ordinary)),
                [Run("specflow, big specs", validate, big, lambda: _plain(big))],
                "cost <= 1.5",
                lambda _ordinary, _big: _same_validate(_run(reference, big, _ENV)[1], _big),
            )
        )
    if args.figure in ("show", "all"):
        tree = _tree(0, 1, 5000, args.regen)
        figures.append(
            Figure(
                "show <spec> --json: one 5,000-requirement spec",
                Run(
                    "openspec",
                    [openspec, "show", "area-0/cap-000", "--json", "--type", "spec", "--no-interactive"],
                    tree,
                ),
                [Run("specflow", [*sf, "show", "area-0/cap-000", "--json", "--type", "spec"], tree)],
                "speedup >= 5",
                _same_bytes,
            )
        )
    return figures


def _measure(figure: Figure, rounds: int, env: dict[str, str]) -> list[dict[str, Any]]:
    """Check the outputs, time the rounds, print the figure; one row per specflow run."""
    reference_out = _timed(figure.reference, env)[2]
    problems = [figure.same(reference_out, _timed(run, env)[2]) for run in figure.runs]
    load_before = _load()
    times, cpus = _rounds(figure, rounds, env)
    load = f"{load_before} -> {_load()}"
    ref_s, ref_cpu = statistics.median(times[0]), statistics.median(cpus[0])
    print(f"\n{figure.label} ({rounds} interleaved rounds, medians; load {load})")
    print(f"  reference  {figure.reference.name:<26} {ref_s:8.3f}s  cpu {ref_cpu:7.3f}s")
    rows = []
    for run, problem, ts, cs in zip(figure.runs, problems, times[1:], cpus[1:], strict=True):
        ours_s, ours_cpu = statistics.median(ts), statistics.median(cs)
        ratio = figure.ratio(ref_s, ours_s)
        cpu_ratio = figure.ratio(ref_cpu, ours_cpu)
        ok = figure.met(ratio) and problem is None
        verdict = "met" if ok else "MISSED"
        kind = figure.goal.split()[0]
        print(
            f"  specflow   {run.name:<26} {ours_s:8.3f}s  cpu {ours_cpu:7.3f}s  "
            f"{kind} {ratio:6.2f}x (cpu {cpu_ratio:.2f}x)  (goal {figure.goal}x: {verdict})"
        )
        print(f"  output     {'identical' if problem is None else 'DIFFERS: ' + problem}")
        rows.append(
            {
                "figure": figure.label,
                "reference": figure.reference.name,
                "specflow": run.name,
                "reference_s": round(ref_s, 4),
                "specflow_s": round(ours_s, 4),
                "reference_cpu_s": round(ref_cpu, 4),
                "specflow_cpu_s": round(ours_cpu, 4),
                "ratio": round(ratio, 2),
                "cpu_ratio": round(cpu_ratio, 2),
                "goal": figure.goal,
                "met": ok,
                "same_output": problem is None,
                "load": load,
            }
        )
    return rows


#: The environment every command runs in (set by ``main``): a scratch HOME, no telemetry.
_ENV: dict[str, str] = {}


def _hog() -> subprocess.Popen[bytes]:
    """A process that keeps one core busy until it is stopped (``--load``)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main(argv: list[str] | None = None) -> int:
    """Run the chosen figures and print them."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--figure", choices=("tree", "scale", "big-specs", "show", "all"), default="tree")
    p.add_argument(
        "--sizes",
        type=lambda v: [int(n) for n in v.split(",")],
        default=[100, 1000, 5000],
        help="scale figure: the change counts, comma-separated (default 100,1000,5000)",
    )
    p.add_argument("--runs", type=int, default=9, help="timed rounds per figure (default 9, at least 7)")
    p.add_argument("--changes", type=int, default=500, help="tree figure: changes")
    p.add_argument("--specs", type=int, default=200, help="tree and scale figures: specs")
    p.add_argument("--regen", action="store_true", help="regenerate the trees")
    p.add_argument("--load", action="store_true", help="keep one core busy with a CPU hog while timing")
    p.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = p.parse_args(argv)
    if args.runs < 7:
        p.error("--runs must be at least 7")
    _ENV.update(_quiet_env(Path(tempfile.mkdtemp(prefix="openspec-bench-home-"))))
    figures = _figures(args)
    hog = _hog() if args.load else None
    try:
        if hog is not None:
            print(f"under load: a CPU hog (pid {hog.pid}) keeps one core busy")
        rows = [row for figure in figures for row in _measure(figure, args.runs, _ENV)]
    finally:
        if hog is not None:
            os.kill(hog.pid, signal.SIGTERM)
            hog.wait()
    missed = [f"{r['figure']} [{r['specflow']}]" for r in rows if not r["met"]]
    print(
        "\nratio = reference / specflow (speedup) or specflow / reference (cost);", "MISSED:" if missed else "all met"
    )
    for m in missed:
        print(f"  {m}")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
