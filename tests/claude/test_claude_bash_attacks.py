"""The REAL Claude Code's Bash tool against git's index, refs and specflow's records, through ``advance``.

Inside a sandbox layer each write is refused at the system call (git's folder is read-only for
the agent) and the phase succeeds with its in-gate work; with the sandbox off, the audit puts
each ref and index flag back, records it, and keeps the in-gate work.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from specflow.errors import PhaseFailed
from specflow.localdir import records_dir
from specflow.sandbox.layers import problem
from specflow.sandbox.settings import Layer
from tests.claude.test_claude_engine import CID, ClaudeHub, agent_events

pytestmark = pytest.mark.claude_cli

ATTACKS = (
    "bash git update-ref refs/heads/evil HEAD",
    "bash git tag evil-tag",
    "bash git update-index --assume-unchanged CLAUDE.md",
    "bash git notes add -m forged HEAD",
)
PROPOSAL = f"openspec/changes/{CID}/proposal.md"


@pytest.fixture
def chub(hub: Any, claude_binary: Path, claude_env: dict[str, str]) -> ClaudeHub:
    return ClaudeHub(hub, claude_binary, claude_env)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def refs(root: Path) -> list[str]:
    """Every ref but specflow's own: checkpoints, saved work, and the change's branch it commits on."""
    lines = git(root, "for-each-ref", "--format=%(objectname) %(refname)").splitlines()
    return [line for line in lines if " refs/specflow/" not in line and f" refs/heads/specflow/{CID}" not in line]


def flags(root: Path) -> list[str]:
    """The index's flag letter of every file but the change's own (the work specflow commits)."""
    return [line for line in git(root, "ls-files", "-v").splitlines() if f"openspec/changes/{CID}/" not in line]


def require(layer: Layer) -> None:
    why = problem(layer)
    if why is None:
        return
    if sys.platform.startswith("linux") and os.environ.get("CI") == "true":
        pytest.fail(f"the {layer} layer must run in CI but cannot: {why}")
    pytest.skip(f"the {layer} layer cannot run here: {why}")


def use_layer(chub: ClaudeHub, layer: str) -> None:
    config = json.loads((chub.root / "specflow.yaml").read_text(encoding="utf-8"))
    config["sandbox"] = layer
    (chub.root / "specflow.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    chub.fixture.commit(f"sandbox {layer}")


@pytest.mark.parametrize("layer", ["bubblewrap", "landlock"])
def test_bash_into_refs_index_and_records_is_refused_by_the_sandbox(chub: ClaudeHub, layer: Layer) -> None:
    require(layer)
    use_layer(chub, layer)
    chub.think()
    lock_record = records_dir(chub.root) / "locks" / f"{CID}.json"
    journal = records_dir(chub.root) / "journal" / "other.jsonl"
    chub.script(
        "write",
        *ATTACKS,
        f"bash echo forged > {shlex.quote(str(lock_record))}",
        f"bash mkdir -p {shlex.quote(str(journal.parent))} && echo forged > {shlex.quote(str(journal))}",
        f"write {PROPOSAL} ## Why\\nkept",
        "answer done",
    )
    before_refs, before_flags = refs(chub.root), flags(chub.worktree)
    (result,) = chub.change().advance()
    assert result.ok, result.reasons
    assert chub.change().state == "write"
    assert (chub.change_dir / "proposal.md").read_text() == "## Why\nkept"
    assert refs(chub.root) == before_refs
    assert flags(chub.worktree) == before_flags
    assert not journal.exists() or "forged" not in journal.read_text()
    event: dict[str, Any] = agent_events(chub)[-1]
    assert event["sandbox"] == layer
    assert event["gate_violations"] == []
    transcript = Path(event["agent"]["transcript"]).read_text(encoding="utf-8").lower()
    refusal = "read-only file system" if layer == "bubblewrap" else "permission denied"
    assert transcript.count(refusal) >= 3, transcript[-3000:]


def test_bash_into_refs_and_index_without_a_sandbox_is_put_back_by_the_audit(chub: ClaudeHub) -> None:
    chub.think()
    chub.script("write", *ATTACKS, f"write {PROPOSAL} ## Why\\nkept", "answer done")
    before_refs, before_flags = refs(chub.root), flags(chub.worktree)
    with pytest.raises(PhaseFailed) as failed:
        chub.change().advance()
    assert any("wrote outside its gate" in r for r in failed.value.results[-1].reasons)
    assert chub.change().state == "think"
    assert (chub.change_dir / "proposal.md").read_text() == "## Why\nkept"
    assert refs(chub.root) == before_refs
    assert flags(chub.worktree) == before_flags
    event = agent_events(chub)[-1]
    found = {(v["path"], v["kind"]) for v in event["gate_violations"]}
    assert {("evil", "commit"), ("refs/tags/evil-tag", "ref"), ("refs/notes/commits", "ref")} <= found
    assert ("CLAUDE.md", "index") in found
