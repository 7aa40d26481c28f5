"""Per layer: a hostile command agent's writes outside its gate fail at the system call.

Landlock refuses with EACCES, bubblewrap with EROFS (its private /tmp takes writes that then
vanish).  In-gate writes and the private TMPDIR keep working; a read-only phase writes nothing.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from specflow.localdir import records_dir
from specflow.sandbox.settings import Layer
from tests.sandbox.sandbox_support import SandboxHub, git, require_layer

REFUSED = {"landlock": "EACCES", "bubblewrap": "EROFS"}


def targets_outside(hub: SandboxHub) -> dict[str, Path]:
    tag = uuid.uuid4().hex
    return {
        "parent": hub.root.parent / f"x-{tag}",
        "outside": hub.outside / f"x-{tag}",
        "home": Path(os.path.expanduser("~")) / f"specflow-hostile-{tag}",
        "git-config": hub.root / ".git" / "config",
        "git-hook": hub.root / ".git" / "hooks" / "x",
        "hub-records": hub.root / ".specflow" / "journal.jsonl",
        "sibling-change": hub.root / "openspec" / "changes" / "other.md",
    }


def test_writes_outside_the_gate_are_refused_and_inside_it_succeed(sandbox_hub: SandboxHub, layer: Layer) -> None:
    outside = targets_outside(sandbox_hub)
    config_before = (sandbox_hub.root / ".git" / "config").read_bytes()
    inside = sandbox_hub.change / "proposal.md"
    got = sandbox_hub.hostile(sandbox_hub.gate("openspec/changes/add-x/**"), layer, [inside, *outside.values()])
    assert got[str(inside)] == "written"
    assert inside.read_text(encoding="utf-8") == "hostile\n"
    for name, path in outside.items():
        assert got[str(path)] == REFUSED[layer], name
    assert (sandbox_hub.root / ".git" / "config").read_bytes() == config_before
    for name in ("parent", "outside", "home", "git-hook", "hub-records", "sibling-change"):
        assert not outside[name].exists(), name


def test_tmp_writes_are_refused_or_private(sandbox_hub: SandboxHub, layer: Layer) -> None:
    shared = Path("/tmp") / f"specflow-hostile-{uuid.uuid4().hex}"
    got = sandbox_hub.hostile(sandbox_hub.gate("openspec/changes/add-x/**"), layer, [shared])
    # Landlock refuses /tmp; bubblewrap gives the agent a private tmpfs whose files vanish with it
    assert got[str(shared)] == ("EACCES" if layer == "landlock" else "written")
    assert not shared.exists()


def test_the_private_tmpdir_is_writable_and_removed_afterwards(sandbox_hub: SandboxHub, layer: Layer) -> None:
    code = (
        "import os, tempfile\n"
        "path = os.path.join(os.environ['TMPDIR'], 'scratch')\n"
        "open(path, 'w').write('x')\n"
        "print(tempfile.gettempdir() == os.environ['TMPDIR'], os.environ['TMPDIR'])\n"
    )
    result = sandbox_hub.run(code, sandbox_hub.gate(read_only=True), layer)
    assert result.ok, result.error
    same, tmpdir = result.final_text.rstrip("\n").split(" ", 1)  # the folder may hold a space
    assert same == "True" and "specflow-agent-" in tmpdir
    assert not Path(tmpdir).exists()


def test_a_tmpdir_an_agent_nested_deeper_than_pythons_stack_is_removed_too(
    sandbox_hub: SandboxHub, layer: Layer
) -> None:
    code = (
        "import os\n"
        "os.chdir(os.environ['TMPDIR'])\n"
        "for _ in range(1200):\n"
        "    os.mkdir('d')\n"
        "    os.chdir('d')\n"
        "open('f', 'w').write('x')\n"
        "print(os.environ['TMPDIR'])\n"
    )
    result = sandbox_hub.run(code, sandbox_hub.gate(read_only=True), layer)
    assert result.ok, result.error
    assert not Path(result.final_text.strip()).exists()


def test_a_read_only_phase_cannot_write_anything(sandbox_hub: SandboxHub, layer: Layer) -> None:
    paths = [sandbox_hub.change / "proposal.md", sandbox_hub.root / "README.md", sandbox_hub.root / "new.md"]
    got = sandbox_hub.hostile(sandbox_hub.gate(read_only=True), layer, paths)
    assert got == {str(p): REFUSED[layer] for p in paths}
    assert (sandbox_hub.root / "README.md").read_text(encoding="utf-8") == "# hub\n"
    assert not (sandbox_hub.change / "proposal.md").exists()


def test_bubblewrap_keeps_git_and_records_inside_a_writable_folder_read_only(sandbox_hub: SandboxHub) -> None:
    """Landlock cannot do this (it only grants); the audit judges those paths there."""
    require_layer("bubblewrap")
    root = sandbox_hub.root
    git(root, "commit", "-q", "--allow-empty", "-m", "base")
    worktree = root / ".specflow" / "worktrees" / "add-x" / "hub"
    git(root, "worktree", "add", "-q", "-b", "specflow/add-x", str(worktree))
    gate = sandbox_hub.gate("openspec/changes/add-x/**", worktrees=(worktree,))
    state = sandbox_hub.change / ".specflow" / "state.json"
    targets = [worktree / "src.py", worktree / ".git", state, root / ".git" / "config", root / ".specflow" / "x"]
    got = sandbox_hub.hostile(gate, "bubblewrap", targets, cwd=worktree)
    assert got[str(worktree / "src.py")] == "written"
    for path in targets[1:]:
        assert got[str(path)] == "EROFS", path
    assert state.read_text(encoding="utf-8") == "{}\n"


@pytest.mark.parametrize("network", ["none", "loopback"])
def test_network_none_and_loopback_refuse_tcp_to_the_host(sandbox_hub: SandboxHub, layer: Layer, network: str) -> None:
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    code = (
        "import errno, socket\n"
        f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2).close(); print('connected')\n"
        "except OSError as exc:\n    print(errno.errorcode.get(exc.errno, exc))\n"
    )
    try:
        refused = sandbox_hub.run(code, sandbox_hub.gate(read_only=True), layer, network=network)  # type: ignore[arg-type]
        allowed = sandbox_hub.run(code, sandbox_hub.gate(read_only=True), layer, network="any")
    finally:
        server.close()
    assert refused.ok and allowed.ok
    # Landlock refuses the connect itself; in bubblewrap's own network namespace nobody listens
    assert refused.final_text.strip() == ("EACCES" if layer == "landlock" else "ECONNREFUSED")
    assert allowed.final_text.strip() == "connected"


def test_the_layer_is_announced_with_what_recovery_needs(sandbox_hub: SandboxHub, layer: Layer) -> None:
    result = sandbox_hub.run("print('hi')", sandbox_hub.gate(read_only=True), layer)
    assert result.ok, result.error
    (event,) = [e for e in sandbox_hub.events if e.kind == "sandbox"]
    assert event.data["layer"] == layer
    assert event.data["pid"] > 1 and event.data["started"] > 0 and len(event.data["marker"]) == 32
    assert event.message.startswith(f"{layer} holds the agent (pid ")


def test_an_agent_commits_on_its_branch_but_not_hooks_config_or_other_refs(
    sandbox_hub: SandboxHub, layer: Layer
) -> None:
    root = sandbox_hub.root
    git(root, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "--allow-empty", "-m", "base")
    worktree = root / ".specflow" / "worktrees" / "add-x" / "hub"
    git(root, "worktree", "add", "-q", "-b", "specflow/add-x", str(worktree))
    gate = sandbox_hub.gate(worktrees=(worktree,))
    code = (
        "import subprocess\n"
        "open('feature.py', 'w').write('x = 1\\n')\n"
        "ok = subprocess.run(['git', '-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qam', 'x'],"
        " capture_output=True).returncode == 0\n"
        "subprocess.run(['git', 'add', 'feature.py'])\n"
        "ok = subprocess.run(['git', '-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qm', 'feature'],"
        " capture_output=True).returncode == 0\n"
        "main = subprocess.run(['git', 'update-ref', 'refs/heads/main', 'HEAD'], capture_output=True).returncode\n"
        "cfg = subprocess.run(['git', 'config', 'core.hooksPath', '/tmp'], capture_output=True).returncode\n"
        "print(ok, main != 0, cfg != 0)\n"
    )
    main_before = git(root, "rev-parse", "main")
    result = sandbox_hub.run(code, gate, layer, cwd=worktree)
    assert result.ok, result.error
    assert result.final_text.split() == ["True", "True", "True"]
    assert git(root, "log", "-1", "--format=%s", "specflow/add-x").strip() == "feature"
    assert git(root, "rev-parse", "main") == main_before
    assert "hooksPath" not in (root / ".git" / "config").read_text(encoding="utf-8")


def _records(hub: SandboxHub) -> dict[str, Path]:
    """specflow's records: existing ones and new names in each of their folders."""
    folder = records_dir(hub.root)
    existing = {
        "lock record": folder / "locks" / "add-x.json",
        "journal": folder / "journal" / "other.jsonl",
        "checkpoint record": folder / "workspaces" / "add-x" / "checkpoints" / "1.json",
    }
    for path in existing.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n", encoding="utf-8")
    new = {
        "gate file": folder / "workspaces" / "other" / "gate.json",
        "new lock record": folder / "locks" / "other.json",
        "event log": folder / "events" / "add-x.jsonl",
        "new entry in the records folder": folder / "x",
    }
    for path in new.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    return {**existing, **new}


@pytest.mark.parametrize("write", ["**", "README.md", "openspec/changes/add-x/**"])
def test_specflow_records_cannot_be_written_whatever_the_gate(
    sandbox_hub: SandboxHub, layer: Layer, write: str
) -> None:
    """The records live in git's folder: read-only under every layer, even with the whole hub writable."""
    records = _records(sandbox_hub)
    assert all(path.is_relative_to(sandbox_hub.root / ".git" / "specflow") for path in records.values())
    inside = sandbox_hub.root / "README.md" if write != "openspec/changes/add-x/**" else sandbox_hub.change / "x.md"
    got = sandbox_hub.hostile(sandbox_hub.gate(write), layer, [inside, *records.values()])
    assert got[str(inside)] == "written"
    for name, path in records.items():
        assert got[str(path)] == REFUSED[layer], name
        assert not path.exists() or path.read_text(encoding="utf-8") == "{}\n", name


def test_records_stay_read_only_for_a_worktree_phase(sandbox_hub: SandboxHub, layer: Layer) -> None:
    root = sandbox_hub.root
    git(root, "commit", "-q", "--allow-empty", "-m", "base")
    worktree = root / ".specflow" / "worktrees" / "add-x" / "hub"
    git(root, "worktree", "add", "-q", "-b", "specflow/add-x", str(worktree))
    records = _records(sandbox_hub)
    gate = sandbox_hub.gate("openspec/changes/add-x/**", worktrees=(worktree,))
    got = sandbox_hub.hostile(gate, layer, [worktree / "src.py", *records.values()], cwd=worktree)
    assert got[str(worktree / "src.py")] == "written"
    for name, path in records.items():
        assert got[str(path)] == REFUSED[layer], name


def test_landlock_keeps_the_hubs_git_folder_read_only_inside_a_writable_hub(sandbox_hub: SandboxHub) -> None:
    """Landlock only grants: the hub is granted entry by entry around .git (new top-level names refused)."""
    require_layer("landlock")
    root = sandbox_hub.root
    (root / "src").mkdir()
    targets = [
        root / "README.md",
        root / "src" / "new.py",
        root / ".git" / "config",
        root / ".git" / "HEAD",
        root / "new.md",
    ]
    got = sandbox_hub.hostile(sandbox_hub.gate("**"), "landlock", targets)
    assert got[str(root / "README.md")] == got[str(root / "src" / "new.py")] == "written"
    assert got[str(root / ".git" / "config")] == got[str(root / ".git" / "HEAD")] == "EACCES"
    assert got[str(root / "new.md")] == "EACCES"
