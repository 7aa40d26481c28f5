"""``specflow`` against ``openspec`` as processes: the bytes on stdout and the exit code.

The ``u*`` fixtures (non-ASCII text, specs without a Purpose, odd change folder names) are written
into one tree, unprefixed (their names do not collide).  Every command below runs through both
CLIs and stdout must match byte for byte, except for what specflow adds on purpose (``specflow``
of ``show``, ``state``/``workflow`` of ``list``) and the timings of ``validate``, which are taken
out before comparing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.parity import treefmt
from tests.parity.harness import OpenSpec, all_fixtures

pytestmark = pytest.mark.openspec_cli

FIXTURES = [fx for fx in all_fixtures() if fx.prefix.startswith("u")]

# specflow's own keys, present on purpose, null for changes it does not manage
_SHOW_EXTRA = re.compile(r',\n  "specflow": null(?=\n\}\n\Z)')
_LIST_EXTRA = re.compile(r',\n      "state": null,\n      "workflow": null(?=\n    \})')
_DURATION = re.compile(r'"durationMs": \d+')


def _comparable(stdout: str) -> str:
    return _DURATION.sub('"durationMs": 0', _LIST_EXTRA.sub("", _SHOW_EXTRA.sub("", stdout)))


def _commands(openspec: OpenSpec, root: Path) -> list[list[str]]:
    changes = [c["name"] for c in openspec.json(["list", "--json"], root)[1]["changes"]]
    specs = [s["id"] for s in openspec.json(["list", "--specs", "--json"], root)[1]["specs"]]
    out = [
        ["list", "--json"],
        ["list", "--specs", "--json"],
        ["validate", "--all", "--json"],
        ["validate", "--all", "--strict", "--json"],
        ["show", "no-such-item", "--json"],
        ["validate", "no-such-item", "--json"],
        ["show", "no-such-item", "--json", "--type", "change"],
        ["show", "no-such-item", "--json", "--type", "spec"],
        ["show", "Bad_Name", "--json", "--deltas-only"],
    ]
    for item in changes:
        out += [["show", item, "--json"], ["show", item]]
    for item in specs:
        out += [["show", item, "--json"], ["show", item, "--type", "spec"], ["validate", item, "--json"]]
    return out


def _specflow(openspec: OpenSpec, args: list[str], root: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "specflow", *args],
        cwd=root,
        env=openspec.env(),
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _openspec(openspec: OpenSpec, args: list[str], root: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(openspec.binary), *args, "--no-interactive"] if args[0] != "list" else [str(openspec.binary), *args],
        cwd=root,
        env=openspec.env(),
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_stdout_bytes_and_exit_codes(openspec: OpenSpec, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for fx in FIXTURES:
        treefmt.write(fx, root)
    commands = _commands(openspec, root)
    with ThreadPoolExecutor(2) as pool:
        theirs = list(pool.map(lambda a: _openspec(openspec, a, root), commands))
        mine = list(pool.map(lambda a: _specflow(openspec, a, root), commands))
    for args, t, m in zip(commands, theirs, mine, strict=True):
        where = f"{' '.join(args)}\nstderr: {m.stderr.decode(errors='replace')}"
        assert m.returncode == t.returncode, where
        assert _comparable(m.stdout.decode("utf-8")) == _comparable(t.stdout.decode("utf-8")), where


def test_json_is_utf8_not_escaped(openspec: OpenSpec, tmp_path: Path) -> None:
    """The non-ASCII fixture's documents hold the characters themselves, as OpenSpec prints them."""
    fx = next(f for f in FIXTURES if f.name == "u01-non-ascii-text")
    root = tmp_path / "tree"
    treefmt.write(fx, root)
    proc = _specflow(openspec, ["show", "add-matcha", "--json"], root)
    assert proc.returncode == 0
    assert "抹茶".encode() in proc.stdout and b"\\u" not in proc.stdout
    assert json.loads(proc.stdout)["title"] == "Matcha für alle — 抹茶"
