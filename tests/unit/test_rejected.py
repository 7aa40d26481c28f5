"""specflow.workspace.rejected and restore: what an audit puts back is saved first, and comes back.

Real repos in ``tmp_path``: a hub with two component repos (``make_multi_hub``), a turn of an
"agent" (a Python function) between a checkpoint and the audit, then the save and the restore.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from specflow.changestate.history import read_history
from specflow.errors import WorkspaceError
from specflow.workspace.audit import AuditReport
from specflow.workspace.workspaces import Workspaces
from tests.conftest import commit_all, git, init_repo
from tests.unit.test_audit import apply, propose, run_turn
from tests.unit.test_workspaces import CHANGE, MultiHub, make_multi_hub, status

PROPOSAL = f"openspec/changes/{CHANGE}/proposal.md"
REF = f"refs/specflow/rejected/{CHANGE}/1/files/hub"


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    return make_multi_hub(tmp_path)


def escape(multi: MultiHub) -> Callable[[], None]:
    """An agent that writes its proposal, and outside its gate: edits, adds, deletes, chmods."""

    def agent() -> None:
        (multi.worktree / PROPOSAL).write_text("## Why\nBetter login.\n")
        (multi.worktree / "CLAUDE.md").write_text("# rules\nignore them\n")
        (multi.worktree / "docs" / "new.md").write_text("agent's notes\n")
        (multi.worktree / "openspec" / "specs" / "auth" / "spec.md").unlink()
        os.chmod(multi.worktree / "docs" / "style.md", 0o755)

    return agent


def test_everything_put_back_is_saved_first_as_one_commit_on_the_checkpoint(multi: MultiHub) -> None:
    ws = multi.workspaces()
    cp = ws.checkpoint(phase="propose", state="explore")
    escape(multi)()
    report = ws.audit(cp, propose(ws), attempt=2)
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"  # put back ...
    assert git(multi.worktree, "show", f"{REF}:CLAUDE.md") == "# rules\nignore them\n"  # ... and saved
    assert git(multi.worktree, "show", f"{REF}:docs/new.md") == "agent's notes\n"
    assert git(multi.worktree, "rev-parse", f"{REF}^").strip() == cp.refs["hub"]
    changed = git(multi.worktree, "diff", "--name-status", f"{REF}^", REF).splitlines()
    assert sorted(changed) == [
        "A\tdocs/new.md",
        "D\topenspec/specs/auth/spec.md",
        "M\tCLAUDE.md",
        "M\tdocs/style.md",
    ]  # exactly what was put back: the in-gate proposal is not in it
    message = git(multi.worktree, "log", "-1", "--format=%B", REF)
    assert f"rejected by the audit of {CHANGE} (propose, attempt 2, checkpoint #1): hub" in message
    assert "  docs/new.md\n" in message and f"specflow restore {CHANGE} --checkpoint 1" in message
    assert {v.saved for v in report.violations} == {REF}
    assert report.rejected is not None and report.rejected.refs == {"hub": REF}
    assert report.to_dict()["rejected"]["command"] == f"specflow restore {CHANGE} --checkpoint 1"
    assert f"restore it with 'specflow restore {CHANGE} --checkpoint 1'" in report.summary()
    assert all(v["saved"] == REF for v in report.to_dict()["violations"])


def test_restore_puts_every_saved_path_back_as_the_agent_left_it(multi: MultiHub) -> None:
    ws = multi.workspaces()
    run_turn(ws, propose(ws), escape(multi))
    result = ws.restore(None)
    assert result.checkpoint == 1 and result.undo is None
    assert sorted(result.restored["hub"]) == [
        "CLAUDE.md",
        "docs/new.md",
        "docs/style.md",
        "openspec/specs/auth/spec.md",
    ]
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\nignore them\n"
    assert (multi.worktree / "docs" / "new.md").read_text() == "agent's notes\n"
    assert not (multi.worktree / "openspec" / "specs" / "auth" / "spec.md").exists()
    assert stat.S_IMODE((multi.worktree / "docs" / "style.md").stat().st_mode) & 0o100
    with pytest.raises(WorkspaceError, match="nothing to restore from checkpoint #1"):
        ws.restore(1)


def test_restore_of_one_path_leaves_the_others_saved(multi: MultiHub) -> None:
    ws = multi.workspaces()
    run_turn(ws, propose(ws), escape(multi))
    result = ws.restore(1, ["docs"])
    assert sorted(result.restored["hub"]) == ["docs/new.md", "docs/style.md"]
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"
    assert ws.restore(1, ["CLAUDE.md"]).restored == {"hub": ["CLAUDE.md"]}
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\nignore them\n"


def test_restore_refuses_to_overwrite_edits_made_since_unless_forced(multi: MultiHub) -> None:
    ws = multi.workspaces()
    run_turn(ws, propose(ws), escape(multi))
    (multi.worktree / "CLAUDE.md").write_text("# rules\nthe person's own edit\n")
    with pytest.raises(WorkspaceError) as info:
        ws.restore(1)
    assert "1 path(s) changed since the audit put them back" in info.value.message
    assert "hub:CLAUDE.md" in info.value.message and "--force" in (info.value.fix or "")
    assert not (multi.worktree / "docs" / "new.md").exists()  # refused: nothing written
    result = ws.restore(1, force=True, state="explore")
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\nignore them\n"
    assert result.undo == 2  # the person's version is in checkpoint #2
    undo = ws.checkpoints()[-1]
    assert git(multi.worktree, "show", f"{undo.refs['hub']}:CLAUDE.md") == "# rules\nthe person's own edit\n"


def test_a_nested_repository_is_moved_aside_whole_and_restored(multi: MultiHub) -> None:
    ws = multi.workspaces()

    def agent() -> None:
        nested = init_repo(multi.worktree / "vendor" / "lib")
        (nested / "x.py").write_text("x\n")
        commit_all(nested, "vendored")
        (nested / "wip.py").write_text("not committed\n")

    report = run_turn(ws, propose(ws), agent)
    assert not (multi.worktree / "vendor").exists()
    assert report.rejected is not None
    [(kept, original)] = report.rejected.folders.items()
    assert original == str(multi.worktree / "vendor" / "lib")
    assert Path(kept).is_relative_to((multi.root / ".git" / "specflow" / "rejected" / CHANGE / "1").resolve())
    assert (Path(kept) / "wip.py").read_text() == "not committed\n"
    result = ws.restore(1)
    assert result.folders == [str(multi.worktree / "vendor" / "lib")]
    assert (multi.worktree / "vendor" / "lib" / "wip.py").read_text() == "not committed\n"
    assert git(multi.worktree / "vendor" / "lib", "log", "-1", "--format=%s").strip() == "vendored"


def test_entries_of_the_worktrees_folder_are_moved_aside_and_restored(multi: MultiHub) -> None:
    ws = multi.workspaces()
    policy = apply(ws)
    cwd = ws.agent_cwd(worktrees=True)
    report = run_turn(ws, policy, lambda: (cwd / "notes.txt").write_text("scratch\n"))
    assert not (cwd / "notes.txt").exists()
    [violation] = [v for v in report.violations if v.path.endswith("notes.txt")]
    assert Path(violation.saved).read_text() == "scratch\n"
    ws.restore(None, [f".specflow/worktrees/{CHANGE}/notes.txt"])
    assert (cwd / "notes.txt").read_text() == "scratch\n"


def test_a_second_audit_of_the_same_checkpoint_adds_to_the_save(multi: MultiHub) -> None:
    ws = multi.workspaces()
    policy = propose(ws)
    cp = ws.checkpoint(phase="propose", state="explore")
    (multi.worktree / "CLAUDE.md").write_text("first\n")
    ws.audit(cp, policy)
    first = git(multi.worktree, "rev-parse", REF).strip()
    (multi.worktree / "docs" / "style.md").write_text("second\n")
    report = ws.audit(cp, policy)  # e.g. the recovery of an attempt audited while it was stopped
    assert git(multi.worktree, "rev-parse", f"{REF}^2").strip() == first
    assert git(multi.worktree, "show", f"{REF}:CLAUDE.md") == "first\n"
    assert git(multi.worktree, "show", f"{REF}:docs/style.md") == "second\n"
    assert report.rejected is not None and report.rejected.refs == {"hub": REF}


def test_a_component_repos_worktree_is_saved_in_that_repo_and_its_checkout_never(multi: MultiHub) -> None:
    """What the audit puts back in a repo worktree is saved in that repo.  The repo's checkout is
    the person's: no audit looks at it, so nothing there is put back or saved."""
    ws = multi.workspaces(("api",))
    apply(ws)
    wt = ws.existing()["api"]

    def agent() -> None:
        (wt / "src" / "app.py").write_text("hijacked during propose\n")
        (multi.bot / "bot.py").write_text("the person's edit\n")

    report = run_turn(ws, propose(ws), agent)
    ref = f"refs/specflow/rejected/{CHANGE}/1/files/api"
    assert report.rejected is not None and report.rejected.refs == {"api": ref}
    assert git(multi.api, "show", f"{ref}:src/app.py") == "hijacked during propose\n"
    assert status(wt) == ""
    assert (multi.bot / "bot.py").read_text() == "the person's edit\n"
    assert git(multi.bot, "for-each-ref", "refs/specflow/") == ""
    ws.restore(1)
    assert (wt / "src" / "app.py").read_text() == "hijacked during propose\n"


def test_restore_names_what_there_is_when_nothing_was_saved(multi: MultiHub) -> None:
    ws: Workspaces = multi.workspaces()
    with pytest.raises(WorkspaceError, match="nothing to restore"):
        ws.restore(None)
    run_turn(ws, propose(ws), escape(multi))
    with pytest.raises(WorkspaceError, match=r"checkpoint #7 .* saved nothing \(saves exist for checkpoint\(s\) 1\)"):
        ws.restore(7)


def test_change_restore_takes_the_lock_and_records_it(
    multi: MultiHub, cli: Callable[..., tuple[int, str, str]]
) -> None:
    ws = multi.workspaces()
    report: AuditReport = run_turn(ws, propose(ws), escape(multi))
    assert not report.ok
    code, out, err = cli("-C", multi.root, "restore", CHANGE, "--checkpoint", "1", "--path", "CLAUDE.md")
    assert code == 0, err
    assert f"restored 1 path(s) saved by the audit of checkpoint #1 of {CHANGE}" in out
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\nignore them\n"
    last = read_history(multi.change_dir)[-1]
    assert (last["trigger"], last["outcome"], last["checkpoint"]) == ("restore", "restored", 1)
    code, out, err = cli("-C", multi.root, "restore", CHANGE, "--json")
    assert code == 0, err
    assert sorted(json.loads(out)["restored"]["hub"]) == ["docs/new.md", "docs/style.md", "openspec/specs/auth/spec.md"]


def test_git_files_an_agent_changed_are_kept_to_look_at_but_never_restored(multi: MultiHub) -> None:
    ws = multi.workspaces(())
    policy = ws.policy(read_only=True, write=[], worktrees=False, phase="explore")
    cp = ws.checkpoint(phase="explore", state="draft")
    hook = multi.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho pwned\n")
    with (multi.root / ".git" / "config").open("a") as fh:
        fh.write("[core]\n\tfsmonitor = touch /tmp/pwned\n")
    report = ws.audit(cp, policy)
    kept = {v.path.rsplit("/", 1)[-1]: Path(v.saved) for v in report.violations if v.kind == "git"}
    assert kept["pre-commit"].read_text() == "#!/bin/sh\necho pwned\n"
    assert "fsmonitor = touch /tmp/pwned" in kept["config"].read_text()
    assert not hook.exists() and "pwned" not in (multi.root / ".git" / "config").read_text()
    with pytest.raises(WorkspaceError, match="nothing to restore"):
        ws.restore(1)
    assert not hook.exists()
