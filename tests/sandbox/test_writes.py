"""Per layer: a hostile command agent's writes outside its gate fail at the system call.

Landlock refuses with EACCES, bubblewrap with EROFS (its private /tmp takes writes that then
vanish).  In-gate writes and the private TMPDIR keep working; a read-only phase writes nothing.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

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
        "print(os.environ['TMPDIR'], tempfile.gettempdir() == os.environ['TMPDIR'])\n"
    )
    result = sandbox_hub.run(code, sandbox_hub.gate(read_only=True), layer)
    assert result.ok, result.error
    tmpdir, same = result.final_text.split()
    assert same == "True" and "specflow-agent-" in tmpdir
    assert not Path(tmpdir).exists()


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
