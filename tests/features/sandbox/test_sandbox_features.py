"""Step definitions for sandbox.feature: a real hub, a hostile command agent, the CLI in-process."""

from __future__ import annotations

import json
import os
import subprocess
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


#: Forges, where specflow kept its records before they moved into git's folder, a gate file and a
#: live lock record of another change allowing everything, and a journal entry of another change
#: claiming the agent's edit of CLAUDE.md; drops a checkpoint record there too; then edits CLAUDE.md.
FORGER = r"""
import hashlib, json, os, pathlib, socket, sys, time
sys.stdin.read()
hub = pathlib.Path(os.environ["SPECFLOW_HUB"])
change = os.environ["SPECFLOW_CHANGE"]
old = hub / ".specflow"
edited = (hub / "CLAUDE.md").read_bytes() + b"forged\n"
gate = {"hub": str(hub), "read_only": False, "write": ["**"], "worktrees": [], "phase": "p", "change": "other"}
records = {
    "workspaces/other/gate.json": {"gate": gate, "pid": 1, "host": socket.gethostname()},
    "locks/other.json": {"pid": 1, "host": socket.gethostname(), "since": "2026-01-01T00:00:00Z"},
    f"workspaces/{change}/checkpoints/1.json": {},
}
for rel, data in records.items():
    (old / rel).parent.mkdir(parents=True, exist_ok=True)
    (old / rel).write_text(json.dumps(data))
entry = {"path": "CLAUDE.md", "sha256": hashlib.sha256(edited).hexdigest(), "at": time.time()}
(old / "journal").mkdir(parents=True, exist_ok=True)
(old / "journal" / "other.jsonl").write_text(json.dumps(entry) + "\n")
(hub / "CLAUDE.md").write_bytes(edited)
print("done")
"""


#: Tags a commit, adds a note, narrows CLAUDE.md's mode and edits an ignored file, with plain git.
TAMPERER = r"""
import os, pathlib, subprocess, sys
sys.stdin.read()
hub = pathlib.Path(os.environ["SPECFLOW_HUB"])
for args in (["tag", "v9"], ["notes", "add", "-m", "approved by nobody", "HEAD"]):
    subprocess.run(["git", *args], cwd=hub, check=True, capture_output=True)
os.chmod(hub / "CLAUDE.md", 0o600)
(hub / "local.env").write_text("TOKEN=stolen\n")
print("done")
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


@given(
    parsers.parse(
        'a hub with the mini workflow and an agent that forges specflow\'s records in "{old}" and edits "{rel}"'
    ),
    target_fixture="hub",
)
def forging_hub(hub: HubFixture, world: dict[str, Any], old: str, rel: str) -> HubFixture:
    assert old == ".specflow/"
    hub.agent("scripted", FORGER)
    hub.commit("forging agent")
    world["before"] = {rel: (hub.root / rel).read_bytes()}
    return hub


@given(
    parsers.parse(
        'a hub with the mini workflow and an agent that tags, annotates, chmods "{rel}" and edits the ignored "{env}"'
    ),
    target_fixture="hub",
)
def tampering_hub(hub: HubFixture, world: dict[str, Any], rel: str, env: str) -> HubFixture:
    hub.agent("scripted", TAMPERER)
    hub.write(".gitignore", f"{env}\n")
    hub.commit("tampering agent")
    world["tamper"] = (rel, env)  # the ignored file is made in the change's worktree once it exists
    return hub


def _refs(hub: HubFixture) -> list[str]:
    out = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)"], cwd=hub.root, check=True, capture_output=True, text=True
    ).stdout
    # specflow's own refs, and the changes' branches it commits on, move by design
    return [name for name in out.split() if not name.startswith(("refs/specflow/", "refs/heads/specflow/"))]


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
def new_change(hub: HubFixture, cli: Any, cid: str, world: dict[str, Any]) -> None:
    code, _, err = cli("-C", hub.root, "new", cid)
    assert code == 0, err
    if "tamper" in world:
        rel, env = world["tamper"]
        own = hub.worktree(cid)  # where the change's agents work
        (own / env).write_text("TOKEN=secret\n")
        os.chmod(own / env, 0o640)
        world["before"] = {p: ((own / p).read_bytes(), (own / p).stat().st_mode) for p in (rel, env)}
        world["refs"] = _refs(hub)


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


@then(parsers.parse('"{rel}" is as it was before the agent ran'))
def as_before(hub: HubFixture, world: dict[str, Any], rel: str) -> None:
    assert (hub.root / rel).read_bytes() == world["before"][rel]  # the person's checkout
    assert (hub.worktree("add-login") / rel).read_bytes() == world["before"][rel]  # the change's own


@then(parsers.parse('the last attempt of "{cid}" reports "{rel}" put back'))
def reports_put_back(hub: HubFixture, cid: str, rel: str) -> None:
    last = _history(hub, cid)[-1]
    assert [v["path"] for v in last["gate_violations"] if v["workspace"] == "hub"] == [rel], last


@then("the hub has no tag or note the agent made")
def no_tag_or_note(hub: HubFixture, world: dict[str, Any]) -> None:
    assert _refs(hub) == world["refs"]


@then(parsers.parse('"{a}" and "{b}" are as they were before the agent ran, modes included'))
def as_before_with_modes(hub: HubFixture, world: dict[str, Any], a: str, b: str) -> None:
    for rel in (a, b):
        path = hub.worktree("add-login") / rel
        assert (path.read_bytes(), path.stat().st_mode) == world["before"][rel], rel


@then(
    parsers.parse(
        'the last attempt of "{cid}" reports "{p1}" as "{k1}", "{p2}" as "{k2}", "{p3}" as "{k3}" and "{p4}" as "{k4}"'
    )
)
def reports_kinds(
    hub: HubFixture, cid: str, p1: str, k1: str, p2: str, k2: str, p3: str, k3: str, p4: str, k4: str
) -> None:
    last = _history(hub, cid)[-1]
    found = {(v["path"], v["kind"]) for v in last["gate_violations"]}
    assert found == {(p1, k1), (p2, k2), (p3, k3), (p4, k4)}, found
