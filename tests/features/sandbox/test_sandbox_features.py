"""Step definitions for sandbox.feature: a real hub, a hostile command agent, the CLI in-process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.conftest import HubFixture
from tests.sandbox.sandbox_support import require_layer

scenarios("sandbox.feature")

#: Tries every write it can think of; its answer (the phase's record) says what happened to each.
AGENT = r"""
import errno, json, os, pathlib, subprocess, sys
sys.stdin.read()
hub = pathlib.Path(os.environ["SPECFLOW_HUB"])  # the change's own worktree of the hub
change = os.environ["SPECFLOW_CHANGE"]
common = pathlib.Path(subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=hub, capture_output=True,
                                     text=True, check=True).stdout.strip())
where = {".git/hooks/post-commit": (hub / common).resolve() / "hooks" / "post-commit"}
results = {}
for rel in ["CLAUDE.md", "../outside.txt", f"openspec/changes/{change}/notes.md", ".git/hooks/post-commit"]:
    try:
        with open(where.get(rel, hub / rel), "a") as fh:
            fh.write("hostile\n")
        results[rel] = "written"
    except OSError as exc:
        results[rel] = errno.errorcode.get(exc.errno, str(exc.errno))
print(json.dumps(results))
"""


@pytest.fixture
def world() -> dict[str, Any]:
    return {}


@given("a hub with the mini workflow and an agent that writes everywhere", target_fixture="hub")
def hostile_hub(hub: HubFixture, world: dict[str, Any]) -> HubFixture:
    hub.agent("scripted", AGENT)
    hub.commit("hostile agent")
    world["before"] = {p: (hub.root / p).read_bytes() for p in ("CLAUDE.md", ".git/config")}
    return hub


def _set_config(hub: HubFixture, old: str, new: str) -> None:
    config = hub.root / "specflow.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    hub.commit("sandbox settings")


@given(parsers.parse('the hub\'s sandbox is "{layer}"'))
def hub_sandbox(hub: HubFixture, layer: str) -> None:
    require_layer(layer)  # type: ignore[arg-type]
    _set_config(hub, "sandbox: off\n", f"sandbox: {layer}\n")


@given("the hub requires a sandbox but turns it off")
def hub_requires(hub: HubFixture) -> None:
    _set_config(hub, "sandbox: off\n", "sandbox: off\nrequire_sandbox: true\n")


@given(parsers.parse('a change "{cid}"'))
def new_change(hub: HubFixture, cli: Any, cid: str) -> None:
    code, _, err = cli("-C", hub.root, "new", cid)
    assert code == 0, err


@when(parsers.parse('I advance "{cid}"'))
def advance(hub: HubFixture, cli: Any, cid: str, world: dict[str, Any]) -> None:
    code, out, err = cli("-C", hub.root, "advance", cid)
    assert code == 0, out + err


@when(parsers.parse('I try to advance "{cid}"'))
def try_advance(hub: HubFixture, cli: Any, cid: str, world: dict[str, Any]) -> None:
    world["code"], world["out"], world["err"] = cli("-C", hub.root, "advance", cid)


def _history(hub: HubFixture, cid: str) -> list[dict[str, Any]]:
    path = hub.change_dir(cid) / ".specflow" / "history.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _state(hub: HubFixture, cid: str) -> str:
    path = hub.change_dir(cid) / ".specflow" / "state.json"
    state: str = json.loads(path.read_text(encoding="utf-8"))["state"]
    return state


@then(parsers.parse('the change "{cid}" is in state "{state}"'))
def in_state(hub: HubFixture, cid: str, state: str) -> None:
    assert _state(hub, cid) == state


@then(parsers.parse('the agent was refused writing "{a}", "{b}" and "{c}"'))
def refused(hub: HubFixture, a: str, b: str, c: str) -> None:
    notes = hub.change_dir("add-login") / "notes.md"
    answer = json.loads(notes.read_text(encoding="utf-8"))
    for rel in (a, b, c, ".git/hooks/post-commit"):
        assert answer[rel] in ("EACCES", "EROFS"), (rel, answer)


@then("nothing outside the gate changed")
def nothing_changed(hub: HubFixture, world: dict[str, Any]) -> None:
    for rel, data in world["before"].items():
        assert (hub.root / rel).read_bytes() == data, rel
    assert (hub.worktree("add-login") / "CLAUDE.md").read_bytes() == world["before"]["CLAUDE.md"]
    assert not (hub.worktree("add-login").parent / "outside.txt").exists()
    assert not (hub.root.parent / "outside.txt").exists()
    assert not (hub.root / ".git" / "hooks" / "post-commit").exists()


@then(parsers.parse('the last attempt of "{cid}" was held by "{layer}" with no write to put back'))
def held_by(hub: HubFixture, cid: str, layer: str) -> None:
    last = _history(hub, cid)[-1]
    assert last["outcome"] == "succeeded"
    assert last["sandbox"] == layer and last["agent"]["sandbox"] == layer
    assert last["gate_violations"] == []


@then(parsers.parse('the command fails with exit code {code:d} saying "{text}"'))
def fails(world: dict[str, Any], code: int, text: str) -> None:
    assert world["code"] == code
    assert text in world["err"] and "Traceback" not in world["err"]
    assert "fix:" in world["err"]


@then(parsers.parse('the change "{cid}" is still in state "{state}" with no attempt recorded'))
def no_attempt(hub: HubFixture, cid: str, state: str) -> None:
    assert _state(hub, cid) == state
    assert [e.get("outcome") for e in _history(hub, cid)] == ["created"]
