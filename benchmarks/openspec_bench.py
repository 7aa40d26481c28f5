"""specflow vs the real OpenSpec CLI on generated OpenSpec trees, timed in the same run.

    .venv/bin/python benchmarks/openspec_bench.py [--figure tree|scale|big-specs|show|all] [--runs 9]
        [--changes 500] [--specs 200] [--sizes 100,1000,5000] [--regen]

``tree`` (the default) times, alternating the two tools run by run so machine load hits both alike:

- ``openspec validate --all --strict --json`` vs ``specflow validate --all --strict --json``
- ``openspec list --json`` vs ``specflow list --json``

and prints the medians and the ratios (targets: validate at least 10x faster, list 5x; exits 1
on a miss).  The outputs are compared too (validate: every item's verdict and issues; list: every
change's counts), so a fast wrong answer does not pass.

``scale`` (issue 16): ``validate --all --strict --json`` against OpenSpec's on trees of
``--sizes`` changes (default 100, 1,000 and 5,000, with ``--specs`` specs): specflow at least
10x faster at every size, every verdict and issue identical.

``big-specs`` (issue 16): ``specflow validate --all --strict --json`` over 500 changes that modify
three 1,000-requirement specs, against the same command on the ordinary 500-change tree: it may
cost at most 1.5x as much (each change must not re-read the big specs).  ``show`` (issue 16):
``show <spec> --json`` of a 5,000-requirement spec, OpenSpec against specflow: specflow at least
5x faster, the bytes identical.  These three print reference, specflow and ratio over interleaved
pairs and exit 1 on a miss.

The OpenSpec CLI is looked up at ``.tools/node_modules/.bin/openspec`` or ``$SPECFLOW_OPENSPEC``;
the trees are generated under ``benchmarks/.data/`` (git-ignored).
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Targets (issues 2 and 16): validate at least 10x faster than OpenSpec at 100-5,000 changes, list 5x.
VALIDATE_SPEEDUP = 10
LIST_SPEEDUP = 5

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


def _tree_figure(args: argparse.Namespace) -> int:
    """validate and list against OpenSpec on the ordinary tree."""
    openspec = _openspec()
    tree = _tree(args.changes, args.specs, None, args.regen)
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
    targets = {"validate --all --strict --json": VALIDATE_SPEEDUP, "list --json": LIST_SPEEDUP}
    missed = [r["command"] for r in rows if r["ratio"] < targets[r["command"]]]
    print(
        f"\nmedians of {args.runs} runs; ratio = openspec / specflow (targets: validate >= {VALIDATE_SPEEDUP}x,"
        f" list >= {LIST_SPEEDUP}x){'; MISSED: ' + ', '.join(missed) if missed else '; met'}"
    )
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0 if all(r["same_output"] for r in rows) and not missed else 1


def _tree(changes: int, specs: int, requirements: int | None, regen: bool) -> Path:
    size = f"{changes}x{specs}" + (f"x{requirements}" if requirements else "")
    tree = HERE / ".data" / f"openspec-{size}"
    if regen or not (tree / "openspec").is_dir():
        generate(tree, changes, specs, requirements=requirements)
    return tree


@dataclass
class Pair:
    """One figure: a reference command and specflow's, run in interleaved pairs."""

    label: str
    reference: tuple[str, list[str], Path]  # (name, command, working directory)
    specflow: tuple[str, list[str], Path]
    goal: str  # "speedup >= N" (reference / specflow) or "cost <= N" (specflow / reference)
    check: Callable[[], str | None]  # a problem with the outputs, or None

    def ratio(self, ref_s: float, ours_s: float) -> float:
        """The figure the goal is about."""
        return ref_s / ours_s if self.goal.startswith("speedup") else ours_s / ref_s

    def met(self, ratio: float) -> bool:
        """Whether ``ratio`` meets the goal."""
        kind, _, bound = self.goal.split()
        return ratio >= float(bound) if kind == "speedup" else ratio <= float(bound)


def _timed_pairs(pair: Pair, runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    ref_t: list[float] = []
    ours_t: list[float] = []
    _run(pair.reference[1], pair.reference[2], env)  # warm-up: file cache, bytecode
    _run(pair.specflow[1], pair.specflow[2], env)
    for i in range(runs):  # interleaved, and each side goes first every other pair
        first, second = (pair.reference, pair.specflow) if i % 2 == 0 else (pair.specflow, pair.reference)
        a = _run(first[1], first[2], env)[0]
        b = _run(second[1], second[2], env)[0]
        ref_t.append(a if first is pair.reference else b)
        ours_t.append(b if first is pair.reference else a)
    return ref_t, ours_t


def _same_bytes(
    theirs: tuple[list[str], Path], mine: tuple[list[str], Path], env: dict[str, str]
) -> Callable[[], str | None]:
    def check() -> str | None:
        a = _run(theirs[0], theirs[1], env)[1]
        b = _run(mine[0], mine[1], env)[1]
        return None if a == b else "stdout differs"

    return check


def _issue16_pairs(args: argparse.Namespace, env: dict[str, str]) -> list[Pair]:
    openspec, sf = str(_openspec()), _specflow()
    pairs: list[Pair] = []
    if args.figure in ("big-specs", "all"):
        ordinary = _tree(500, 200, None, args.regen)
        big = _tree(500, 3, 1000, args.regen)
        validate = [*sf, "validate", "--all", "--strict", "--json"]
        reference = [openspec, "validate", "--all", "--strict", "--json", "--no-interactive"]

        def big_check() -> str | None:
            return _same_validate(_run(reference, big, env)[1], _run(validate, big, env)[1])

        pairs.append(
            Pair(
                "validate --all: 500 changes x three 1,000-requirement specs vs the ordinary tree",
                ("specflow, ordinary tree", validate, ordinary),
                ("specflow, big specs", validate, big),
                "cost <= 1.5",
                big_check,
            )
        )
    if args.figure in ("scale", "all"):
        validate = [*sf, "validate", "--all", "--strict", "--json"]
        reference = [openspec, "validate", "--all", "--strict", "--json", "--no-interactive"]
        for changes in args.sizes:
            tree = _tree(changes, args.specs, None, args.regen)

            def check(tree: Path = tree) -> str | None:
                return _same_validate(_run(reference, tree, env)[1], _run(validate, tree, env)[1])

            pairs.append(
                Pair(
                    f"validate --all --strict --json: {changes} changes x {args.specs} specs",
                    ("openspec", reference, tree),
                    ("specflow", validate, tree),
                    f"speedup >= {VALIDATE_SPEEDUP}",
                    check,
                )
            )
    if args.figure in ("show", "all"):
        tree = _tree(0, 1, 5000, args.regen)
        theirs = [openspec, "show", "area-0/cap-000", "--json", "--type", "spec", "--no-interactive"]
        mine = [*sf, "show", "area-0/cap-000", "--json", "--type", "spec"]
        pairs.append(
            Pair(
                "show <spec> --json: one 5,000-requirement spec",
                ("openspec", theirs, tree),
                ("specflow", mine, tree),
                "speedup >= 5",
                _same_bytes((theirs, tree), (mine, tree), env),
            )
        )
    return pairs


def _issue16_figures(args: argparse.Namespace) -> int:
    env = _quiet_env(Path(tempfile.mkdtemp(prefix="openspec-bench-home-")))
    misses = 0
    for pair in _issue16_pairs(args, env):
        problem = pair.check()
        ref_t, ours_t = _timed_pairs(pair, args.runs, env)
        ref_s, ours_s = statistics.median(ref_t), statistics.median(ours_t)
        ratio = pair.ratio(ref_s, ours_s)
        ok = pair.met(ratio) and problem is None
        misses += not ok
        print(f"\n{pair.label} ({args.runs} interleaved pairs, medians)")
        print(f"  reference  {pair.reference[0]:<24} {ref_s:8.3f}s")
        print(f"  specflow   {pair.specflow[0]:<24} {ours_s:8.3f}s")
        verdict = "met" if ok else "MISSED"
        print(f"  ratio      {pair.goal.split()[0]:<24} {ratio:8.2f}x  (goal {pair.goal}x: {verdict})")
        print(f"  output     {'identical' if problem is None else 'DIFFERS: ' + problem}")
    return 1 if misses else 0


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
    p.add_argument("--runs", type=int, default=9, help="timed runs (pairs) per command (default 9, at least 7)")
    p.add_argument("--changes", type=int, default=500, help="tree figure: changes")
    p.add_argument("--specs", type=int, default=200, help="tree figure: specs")
    p.add_argument("--regen", action="store_true", help="regenerate the trees")
    p.add_argument("--json", action="store_true", help="tree figure: print the figures as JSON too")
    args = p.parse_args(argv)
    if args.runs < 7:
        p.error("--runs must be at least 7")
    code = _tree_figure(args) if args.figure in ("tree", "all") else 0
    if args.figure != "tree":
        code = max(code, _issue16_figures(args))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
