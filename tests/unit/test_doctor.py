"""The checks of ``specflow doctor`` and of a phase before its agent starts, over real repos and programs."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from specflow.definitions.config import load_config
from specflow.definitions.workflow import StateDef, WorkspaceSpec
from specflow.engine.doctor import (
    Check,
    check_hub,
    check_phase,
    check_sandbox_layers,
    landlock_abi,
    require_ready,
)
from specflow.errors import SetupError
from tests.conftest import HubFixture, commit_all, git, init_repo

CLI = Callable[..., tuple[int, str, str]]
APPLY = StateDef(prompt="apply.md.j2", workspace=WorkspaceSpec(worktrees=True))
THINK = StateDef(prompt="think.md.j2")
DRAFT = StateDef()


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def add_repo(hub: HubFixture, name: str, extra: str = "") -> Path:
    repo = init_repo(hub.root.parent / name)
    (repo / "README.md").write_text("x\n", encoding="utf-8")
    commit_all(repo, "first")
    with (hub.root / "specflow.yaml").open("a", encoding="utf-8") as fh:
        fh.write(f"repos:\n  {name}:\n    path: ../{name}\n{extra}")
    return repo


def fake_program(folder: Path, name: str, version: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{version}'\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_phase_is_checked_only_for_what_it_uses(hub: HubFixture) -> None:
    add_repo(hub, "api", "    base: release\n")
    config = load_config(hub.root)
    apply = by_name(check_phase(hub.root, config, APPLY, ["api"], agent="nobody-knows"))
    assert apply["repo api"].status == "ok"
    assert apply["repo api: base branch"].failed
    assert "branch 'release' does not exist" in apply["repo api: base branch"].detail
    assert apply["agent nobody-knows"].failed and "unknown adapter 'nobody-knows'" in apply["agent nobody-knows"].detail
    think = check_phase(hub.root, config, THINK, ["api"])
    assert [c.name for c in think] == ["agent scripted"]  # read-only: the repos do not matter
    assert check_phase(hub.root, config, DRAFT, ["api"]) == []


def test_a_phase_that_is_not_ready_is_one_setup_error_with_every_fix(hub: HubFixture) -> None:
    add_repo(hub, "api", "    base: release\n")
    config = load_config(hub.root)
    with pytest.raises(SetupError) as info:
        require_ready(check_phase(hub.root, config, APPLY, ["api"], agent="nobody-knows"))
    assert info.value.message.splitlines() == [
        "2 setup problems:",
        f"  - repo api: base branch: branch 'release' does not exist in {hub.root.parent / 'api'}",
        "  - agent nobody-knows: unknown adapter 'nobody-knows' (known: command, claude-code)",
    ]
    assert info.value.fix is not None and info.value.fix.startswith("repo api: base branch: create it (git -C")
    with pytest.raises(SetupError, match=r"^agent nobody-knows: unknown adapter"):
        require_ready(check_phase(hub.root, config, THINK, ["api"], agent="nobody-knows"))
    require_ready(check_phase(hub.root, config, DRAFT, ["api"]))  # nothing to check, nothing raised


def test_a_phase_agent_is_its_own_before_the_hub_default(hub: HubFixture) -> None:
    hub.agent("scripted", "print('ok')\n")
    config = load_config(hub.root)
    own = StateDef(prompt="x.md.j2", agent="claude-code")
    assert [c.name for c in check_phase(hub.root, config, own, [])] == ["agent claude-code"]
    (check,) = check_phase(hub.root, config, THINK, [])
    assert (check.name, check.status, check.detail) == ("agent scripted", "ok", sys.executable)


def test_claude_code_is_found_with_its_version(
    hub: HubFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(hub.root)
    monkeypatch.setenv("SPECFLOW_CLAUDE", str(fake_program(tmp_path, "claude", "2.0.99 (Claude Code)")))
    (check,) = check_phase(hub.root, config, StateDef(prompt="x", agent="claude-code"), [])
    assert check.status == "ok" and check.detail.endswith("(2.0.99 (Claude Code))")
    monkeypatch.setenv("SPECFLOW_CLAUDE", str(tmp_path / "gone" / "claude"))
    (check,) = check_phase(hub.root, config, StateDef(prompt="x", agent="claude-code"), [])
    assert check.failed and "does not exist" in check.detail and check.fix


def test_a_broken_config_is_one_failure_and_the_machine_is_still_checked(hub: HubFixture) -> None:
    (hub.root / "specflow.yaml").write_text("default_agent: scripted\nrepos: [\n", encoding="utf-8")
    checks = by_name(check_hub(hub.root))
    assert checks["config"].failed
    assert checks["config"].detail.startswith(f"{hub.root / 'specflow.yaml'}:")
    assert {"git", "openspec"} <= set(checks)
    assert not any(name.startswith("repo ") for name in checks)


def test_links_shared_folders_and_a_repo_that_is_not_git(hub: HubFixture, tmp_path: Path) -> None:
    api = add_repo(hub, "api")
    elsewhere = tmp_path / "elsewhere" / "openspec"
    elsewhere.mkdir(parents=True)
    os.symlink(elsewhere, api / "openspec")
    (hub.root.parent / "plain").mkdir()
    with (hub.root / "specflow.yaml").open("a", encoding="utf-8") as fh:
        fh.write("  plain:\n    path: ../plain\nshared: [docs]\n")
    checks = by_name(check_hub(hub.root))
    assert checks["repo api: link openspec"].failed
    assert checks["repo api: link openspec"].fix == f"re-point it: ln -sfn {hub.root / 'openspec'} {api / 'openspec'}"
    assert checks["repo api: link docs"].failed
    assert checks["shared docs"].failed and "create the folder docs/" in (checks["shared docs"].fix or "")
    assert checks["repo plain"].failed and "is not a git repository" in checks["repo plain"].detail


def test_a_detached_repo_without_a_base_cannot_be_applied_to(hub: HubFixture) -> None:
    api = add_repo(hub, "api")
    git(api, "checkout", "-q", "--detach")
    checks = by_name(check_phase(hub.root, load_config(hub.root), APPLY, ["api"], agent="command"))
    assert checks["repo api: base branch"].failed and "detached HEAD" in checks["repo api: base branch"].detail


def test_landlock_abi_is_what_the_kernel_says() -> None:
    abi = landlock_abi()
    (landlock,) = [c for c in check_sandbox_layers() if c.name == "sandbox landlock"]
    if isinstance(abi, int):
        assert abi >= 1 and landlock.status == "ok" and landlock.detail == f"Landlock ABI {abi}"
    else:
        assert landlock.status == "info" and landlock.detail == abi and landlock.fix


def test_bubblewrap_is_reported_as_it_is() -> None:
    (bwrap,) = [c for c in check_sandbox_layers() if c.name == "sandbox bubblewrap"]
    if shutil.which("bwrap") is None:
        assert bwrap.status == "info" and bwrap.detail == "bubblewrap is not installed"
    else:
        assert bwrap.status in ("ok", "info") and shutil.which("bwrap") in bwrap.detail  # type: ignore[operator]


def test_doctor_json_and_exit_codes(hub: HubFixture, cli: CLI) -> None:
    hub.agent("scripted", "print('ok')\n")
    add_repo(hub, "api")
    code, out, err = cli("-C", hub.root, "doctor", "--json")
    data = json.loads(out)
    assert code == 0, err
    assert data["ok"] is True and data["hub"] == str(hub.root)
    assert {
        "name": "repo api",
        "status": "ok",
        "detail": f"{hub.root.parent / 'api'} is a git repository",
        "fix": None,
    } in data["checks"]
    (hub.root / "specflow.yaml").write_text("default_agent: scripted\nrepos:\n  web:\n    path: ../web\n")
    code, out, err = cli("-C", hub.root, "doctor")
    assert code == 1
    assert "FAIL  repo web" in out and "FAIL  agent scripted" in out
    assert err == f"2 problem(s) found in {hub.root}; each is listed above with its fix\n"
