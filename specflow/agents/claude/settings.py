"""Claude Code settings generated for one phase from its gate: the gate enforced from the inside.

Every phase runs in ``dontAsk`` permission mode, where anything not explicitly allowed is refused
without asking (``acceptEdits`` is not used: it lets the agent write anywhere in its working
directories, which is wider than most gates).  On top of that:

- read-only phases: the writing tools are removed (``--disallowedTools Write,Edit,MultiEdit,
  NotebookEdit``) and nothing is allowed, so Bash runs only the commands Claude Code itself
  classifies as read-only (``ls``, ``cat``, ``grep``, ``git status``, ...); a command that writes
  is refused by ``dontAsk``.
- writing phases: one allow rule ``Edit(//<absolute path>)`` per writable root or glob (the ``//``
  marks an absolute path; ``Edit`` rules also govern Write, and ``Write(...)`` rules are ignored by
  Claude Code, so none are generated), ``--add-dir`` for the folders outside the working directory
  the agent must reach, and ``Bash`` allowed unless the agent's options say otherwise (the agent
  must run tests; a command that writes outside the gate is caught by the audit after the run).
- every phase: a PreToolUse hook running ``specflow guard`` refuses Write / Edit / MultiEdit /
  NotebookEdit outside the gate and tells the agent what it may write, and bypass mode is
  disabled.  The adapter passes ``--setting-sources ""`` so no user or project settings file can
  widen any of this.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from specflow.agents.claude.hook import WRITE_TOOLS
from specflow.bootstrap import boot_code
from specflow.structs import Struct, field
from specflow.workspace.gates import GatePolicy

#: The tools that write files; removed entirely in read-only phases.
WRITING_TOOLS: tuple[str, ...] = tuple(WRITE_TOOLS)
PERMISSION_MODE = "dontAsk"
HOOK_TIMEOUT_S = 30


class PhaseSettings(Struct, frozen=True):
    """What the adapter passes to Claude Code for one phase."""

    settings: dict[str, Any]
    """The ``--settings`` document (permissions and the guard hook)."""
    args: list[str] = field(default_factory=list)
    """Command-line flags: permission mode, disallowed tools, ``--add-dir``."""
    add_dirs: tuple[Path, ...] = ()
    read_only: bool = False


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _rule_path(path: Path) -> str:
    """An absolute path as a permission-rule path: ``//abs/path`` (the ``//`` marks it absolute)."""
    return "/" + path.as_posix()


def edit_rules(gate: GatePolicy) -> list[str]:
    """The ``Edit(...)`` allow rules for exactly what the gate lets the agent write."""
    if gate.read_only:
        return []
    rules: list[str] = []
    for root in gate.worktrees:
        rules.append(f"Edit({_rule_path(root)}/**)")
    for glob in gate.write_globs:
        rel = glob.strip().lstrip("/")
        if rel.startswith("./"):
            rel = rel[2:]
        target = gate.hub.as_posix().rstrip("/") + "/" + rel if rel else gate.hub.as_posix()
        rules.append(f"Edit(/{target})")
    return list(dict.fromkeys(rules))


_LOCAL_PARTS = ("cache", "journal", "locks", "logs", "queue", "transcripts", "workspaces")


def protected_rules(gate: GatePolicy) -> list[str]:
    """``Edit(...)`` deny rules for what no gate ever allows: specflow's records and ``.git``.

    Deny rules beat allow rules, so even with the hook switched off an allow rule for a change
    folder or a worktree cannot reach its ``.specflow/`` records or a repository's git data.
    """
    if gate.read_only:
        return []
    hub = gate.hub.as_posix().rstrip("/")
    # the hub's .specflow/ also holds the worktrees the agent may write, so deny its other parts
    rules = [f"Edit(/{hub}/.specflow/{part}/**)" for part in _LOCAL_PARTS]
    rules += [f"Edit(/{hub}/openspec/changes/**/.specflow/**)", f"Edit(/{hub}/.git/**)"]
    for root in gate.worktrees:
        rules.append(f"Edit({_rule_path(root)}/.git)")
        rules.append(f"Edit({_rule_path(root)}/**/.git/**)")
    return rules


def add_dirs(gate: GatePolicy, cwd: Path) -> list[Path]:
    """Folders outside the working directory the agent must reach: the hub, then writable roots."""
    cwd = _real(cwd)
    candidates = [gate.hub, *gate.worktrees, *(_real(r) for r in gate.writable_roots())]
    dirs: list[Path] = []
    for path in candidates:
        if _inside(path, cwd) or any(_inside(path, d) for d in dirs):
            continue
        dirs = [d for d in dirs if not _inside(d, path)]
        dirs.append(path)
    return dirs


def guard_command(python: str, gate_file: Path) -> str:
    """The hook's shell command: specflow's guard under this Python, isolated from the cwd.

    ``-I -S`` keeps the working directory (which the agent can write), ``PYTHON*`` variables and
    site-packages off ``sys.path``, so a ``specflow/`` folder in the workspace cannot replace the
    guard; the guard loads from this installation alone (``specflow.bootstrap``), which also
    makes it start in a third of the time, once per writing tool call.  ``|| exit 2``: if the
    guard cannot even start, Claude Code is told to refuse the call (any other exit code would
    let it through).
    """
    code = boot_code("specflow.agents.claude.hook")
    return f"{shlex.quote(python)} -I -S -c {shlex.quote(code)} --gate {shlex.quote(str(gate_file))} || exit 2"


def hook_settings(command: str) -> dict[str, Any]:
    """The ``hooks`` block running ``command`` before every file-writing tool call."""
    return {
        "PreToolUse": [
            {
                "matcher": "|".join(WRITING_TOOLS),
                "hooks": [{"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}],
            }
        ]
    }


def build_phase_settings(
    gate: GatePolicy,
    cwd: Path,
    *,
    hook_command: str | None,
    allow_bash: bool = True,
    extra_allow: Iterable[str] = (),
    extra_deny: Iterable[str] = (),
    extra_disallowed: Sequence[str] = (),
) -> PhaseSettings:
    """Settings and flags that keep Claude Code inside ``gate`` while it works in ``cwd``.

    ``hook_command`` None leaves the guard hook out (the permission rules alone then hold the
    gate); ``allow_bash`` False limits Bash to read-only commands in writing phases too.
    """
    allow: list[str] = []
    disallowed: list[str] = list(extra_disallowed)
    if gate.read_only:
        disallowed = [*WRITING_TOOLS, *(t for t in disallowed if t not in WRITING_TOOLS)]
    else:
        allow.extend(edit_rules(gate))
        if allow_bash:
            allow.append("Bash")
    writing = ("Write", "Edit", "MultiEdit", "NotebookEdit", "Bash")
    for rule in extra_allow:
        if rule.startswith("Write("):
            continue  # Claude Code ignores Write rules; never pretend they gate anything
        if gate.read_only and rule.split("(", 1)[0] in writing:
            continue  # nothing widens a read-only phase: no writing tool, no unrestricted Bash
        allow.append(rule)
    permissions: dict[str, Any] = {
        "defaultMode": PERMISSION_MODE,
        "allow": list(dict.fromkeys(allow)),
        "deny": list(dict.fromkeys([*protected_rules(gate), *extra_deny])),
        "disableBypassPermissionsMode": "disable",
    }
    settings: dict[str, Any] = {"permissions": permissions}
    if hook_command:
        settings["hooks"] = hook_settings(hook_command)
    dirs = add_dirs(gate, cwd)
    args = ["--permission-mode", PERMISSION_MODE]
    if disallowed:
        args += ["--disallowedTools", ",".join(disallowed)]
    for d in dirs:
        args += ["--add-dir", str(d)]
    return PhaseSettings(settings=settings, args=args, add_dirs=tuple(dirs), read_only=gate.read_only)


def gate_note(gate: GatePolicy) -> str:
    """A short system-prompt addition stating the gate (``--append-system-prompt``)."""
    who = f"the {gate.phase} phase" if gate.phase else "this phase"
    if gate.change_id:
        who += f" of the change {gate.change_id}"
    return (
        f"specflow runs this session for {who}. {gate.describe()}\n"
        "Writes outside these paths are refused by the permission settings and a specflow hook,"
        " and anything written outside them another way is reverted after the run. A refusal is"
        " expected, not an error to work around: keep to the paths above and say in your final"
        " answer if the work needs more."
    )


__all__ = [
    "PERMISSION_MODE",
    "WRITING_TOOLS",
    "PhaseSettings",
    "add_dirs",
    "build_phase_settings",
    "edit_rules",
    "gate_note",
    "guard_command",
    "hook_settings",
]
