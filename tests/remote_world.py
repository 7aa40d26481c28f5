"""Two machines in tmp_path: bare remotes for a hub and its component repo, and two clones of each.

Machine A made the hub; machine B cloned it.  Each runs specflow with its own ``SPECFLOW_MACHINE``
(``alpha`` and ``beta``), which is how one host plays two machines.  Used by the unit tests of
push, pull, leases and merged histories, and by the Gherkin feature of ``tests/features/remote``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import MINI_WORKFLOW, THINK_TEMPLATE, WRITE_TEMPLATE, commit_all, git, init_repo

CHANGE = "add-login"

#: A scripted agent: notes in the think phase, a proposal in the write phase (the same on every
#: machine, so two clones' artifacts merge and only their records differ).
AGENT = """\
import os, pathlib, subprocess, sys
sys.stdin.read()
change = pathlib.Path(os.environ['SPECFLOW_HUB']) / 'openspec' / 'changes' / os.environ['SPECFLOW_CHANGE']
if os.environ['SPECFLOW_PHASE'] == 'write':
    (change / 'proposal.md').write_text('## Why\\nBecause.\\n')
print('notes')
"""


# The agent's command: the hub's agents/scripted.py, wherever the phase's working directory is.
RUN_AGENT = "import os, runpy; runpy.run_path(os.environ['SPECFLOW_HUB'] + '/agents/scripted.py')"


@dataclass(frozen=True)
class Machine:
    """One clone of the hub and of its component repo ``api``, and the name it runs specflow under."""

    name: str
    hub: Path
    api: Path

    @contextmanager
    def active(self) -> Iterator[Machine]:
        """Run the block as this machine (``SPECFLOW_MACHINE``)."""
        before = os.environ.get("SPECFLOW_MACHINE")
        os.environ["SPECFLOW_MACHINE"] = self.name
        try:
            yield self
        finally:
            if before is None:
                os.environ.pop("SPECFLOW_MACHINE", None)
            else:
                os.environ["SPECFLOW_MACHINE"] = before

    def worktree(self, change_id: str = CHANGE) -> Path:
        return self.hub / ".specflow" / "worktrees" / change_id / "api"

    def commit_in_worktree(self, name: str, text: str, change_id: str = CHANGE) -> str:
        """Write and commit a file on the change's branch in this machine's api worktree."""
        wt = self.worktree(change_id)
        (wt / name).write_text(text, encoding="utf-8")
        git(wt, "add", name)
        git(wt, "commit", "-q", "-m", f"{self.name}: {name}")
        return git(wt, "rev-parse", "HEAD").strip()


@dataclass(frozen=True)
class World:
    remote_hub: Path
    remote_api: Path
    a: Machine
    b: Machine


def config_text(lease_seconds: float = 120) -> str:
    return (
        "default_workflow: mini\ndefault_agent: scripted\nsandbox: off\n"
        f"lease_seconds: {lease_seconds}\nrepos:\n  api:\n    path: ../api\n"
        f"agents:\n  scripted:\n    adapter: command\n    command: [{sys.executable!r}, -c, {RUN_AGENT!r}]\n"
    )


def make_world(tmp_path: Path, *, lease_seconds: float = 120) -> World:
    """Machine A's hub and api repo pushed to bare remotes, and machine B's clones of them."""
    remote_hub, remote_api = tmp_path / "remote" / "hub.git", tmp_path / "remote" / "api.git"
    for bare in (remote_hub, remote_api):
        bare.mkdir(parents=True)
        git(bare, "init", "-q", "--bare", "-b", "main")
    a_hub, a_api = init_repo(tmp_path / "a" / "hub"), init_repo(tmp_path / "a" / "api")
    (a_api / "README.md").write_text("# api\n", encoding="utf-8")
    commit_all(a_api, "api")
    # the CLI's init: openspec/, specflow.yaml, and the attributes that let records merge
    subprocess.run([sys.executable, "-m", "specflow", "init", str(a_hub)], check=True, capture_output=True)
    (a_hub / "specflow.yaml").write_text(config_text(lease_seconds), encoding="utf-8")
    for rel, text in (
        ("openspec/workflows/mini.yaml", MINI_WORKFLOW),
        ("openspec/templates/think.md.j2", THINK_TEMPLATE),
        ("openspec/templates/write.md.j2", WRITE_TEMPLATE),
        ("agents/scripted.py", AGENT),
    ):
        (a_hub / rel).parent.mkdir(parents=True, exist_ok=True)
        (a_hub / rel).write_text(text, encoding="utf-8")
    commit_all(a_hub, "hub")
    for repo, bare in ((a_hub, remote_hub), (a_api, remote_api)):
        git(repo, "remote", "add", "origin", str(bare))
        git(repo, "push", "-q", "-u", "origin", "main")
    b_root = tmp_path / "b"
    b_root.mkdir()
    for bare, name in ((remote_hub, "hub"), (remote_api, "api")):
        git(b_root, "clone", "-q", str(bare), name)
        for key, value in (("user.email", "dev@example.com"), ("user.name", "Dev Eloper"), ("commit.gpgsign", "false")):
            git(b_root / name, "config", key, value)
    return World(
        remote_hub, remote_api, Machine("alpha", a_hub, a_api), Machine("beta", b_root / "hub", b_root / "api")
    )


def remote_refs(bare: Path, pattern: str = "") -> dict[str, str]:
    out = git(bare, "for-each-ref", "--format=%(refname) %(objectname)", *([pattern] if pattern else []))
    return dict(line.split(" ", 1) for line in out.splitlines())
