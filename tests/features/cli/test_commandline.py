"""Step definitions for commandline.feature: the real ``specflow`` process in a real git hub."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.conftest import HubFixture

scenarios("commandline.feature")

# draft -> think needs notes the user writes first
GUARDED = """\
workflow: guarded
version: 1
description: The first step needs notes.
initial: draft
states:
  draft: {}
  think:
    final: true
scenarios:
  - scenario: Think once the notes exist
    given: [the file "notes.md" exists]
    when: advance
    from: draft
    to: think
"""


@pytest.fixture
def run_state() -> dict[str, Any]:
    return {}


def _run(line: str, cwd: Path, hub: Path) -> tuple[int, str, str]:
    words = shlex.split(line.replace("<hub>", shlex.quote(str(hub))))
    assert words[0] == "specflow"
    out = subprocess.run(
        [sys.executable, "-m", "specflow", *words[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return out.returncode, out.stdout, out.stderr


@given(parsers.parse('a hub with a change "{cid}" waiting for its notes'))
def guarded_change(hub: HubFixture, cli: Any, cid: str) -> None:
    hub.write("openspec/workflows/guarded.yaml", GUARDED)
    hub.commit("guarded workflow")
    code, _, err = cli("-C", hub.root, "new", cid, "--workflow", "guarded")
    assert code == 0, err


@given(parsers.parse('the change "{cid}" has its notes'))
def has_notes(hub: HubFixture, cid: str) -> None:
    (hub.change_dir(cid) / "notes.md").write_text("Sessions expire after an hour.\n")


@given(parsers.parse('the change "{cid}" was archived'))
def archived(hub: HubFixture, cli: Any, cid: str) -> None:
    code, _, err = cli("-C", hub.root, "new", cid)
    assert code == 0, err
    archive = hub.root / "openspec" / "changes" / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    hub.change_dir(cid).rename(archive / f"2025-01-01-{cid}")


@given(parsers.parse('the hub has a spec "{spec}"'))
def a_spec(hub: HubFixture, spec: str) -> None:
    hub.write(f"openspec/specs/{spec}/spec.md", f"# {spec}\n\n## Purpose\nSessions.\n")


@when(parsers.parse('I run "{line}" in the hub'))
def run_in_hub(hub: HubFixture, run_state: dict[str, Any], line: str) -> None:
    run_state["result"] = _run(line, hub.root, hub.root)


@when(parsers.parse('I run "{line}" elsewhere'))
def run_elsewhere(hub: HubFixture, tmp_path: Path, run_state: dict[str, Any], line: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    run_state["result"] = _run(line, elsewhere, hub.root)


@then(parsers.parse('it succeeds and shows "{text}"'))
def succeeds(run_state: dict[str, Any], text: str) -> None:
    code, out, err = run_state["result"]
    assert code == 0, out + err
    assert text in out


@then(parsers.parse("it fails with exit code {code:d}"))
def fails(run_state: dict[str, Any], code: int) -> None:
    got, out, err = run_state["result"]
    assert got == code, out + err


@then(parsers.parse('it shows "{text}"'))
def shows(run_state: dict[str, Any], text: str) -> None:
    assert text in run_state["result"][1]


@then(parsers.parse('the error says "{text}"'))
def error_says(run_state: dict[str, Any], text: str) -> None:
    _, _, err = run_state["result"]
    assert err.startswith("error: ") and text in err, err
    assert "Traceback" not in err


@then(parsers.parse('stdout is a JSON error saying "{text}" with exit code {code:d}'))
def json_error(run_state: dict[str, Any], text: str, code: int) -> None:
    doc = json.loads(run_state["result"][1])
    assert text in doc["error"], doc
    assert doc["exit_code"] == code
    assert isinstance(doc["fix"], str) and doc["fix"]


@then("nothing is written on stderr")
def no_stderr(run_state: dict[str, Any]) -> None:
    assert run_state["result"][2] == ""


@then(parsers.parse('the change "{cid}" is still in state "{state}"'))
def still_in(hub: HubFixture, cid: str, state: str) -> None:
    data = json.loads((hub.change_dir(cid) / ".specflow" / "state.json").read_text())
    assert data["state"] == state
