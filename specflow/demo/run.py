"""``specflow demo``: the whole idea, for real, on a copy of the example hub.

``run_demo`` copies ``examples/hub/`` (a hub and two component repos) into a fresh folder, makes
each a git repo, creates a change across both repos and drives it through every phase of the
built-in ``openspec`` workflow with the scripted demo agent (``specflow.demo.agent``) — or with
any agent named, e.g. ``claude-code``:

    explore → propose → (approve) → apply (a write outside the gate, refused) → diff → merge → archive

The demo's agent runs inside the strongest sandbox layer available here (``sandbox: auto`` on the
example's ``scripted`` agent): its one write outside the apply gate is refused at the system
call.  Where no layer can run, the demo says so, and the audit puts the write back instead (the
attempt fails, and a retry stays inside its gate).

It reports each step as a ``DemoEvent`` (the library never prints) and returns a ``DemoResult``
saying where everything is.  The hub is committed after every step, as a person would, so
``git -C <hub> log`` tells the story too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from specflow.agents import adapter_names
from specflow.agents.base import AgentEvent
from specflow.changestate.recordtypes import Approval
from specflow.definitions.config import load_config
from specflow.definitions.resources import builtin_dir
from specflow.demo.agent_tools import REFUSED_PREFIX
from specflow.engine.doctor import check_hub
from specflow.engine.hub import Hub
from specflow.errors import AgentError, DemoError, PhaseFailed
from specflow.structs import Struct, field
from specflow.workspace.git import run_git, who_am_i
from specflow.workspace.workspaces import Workspaces

if TYPE_CHECKING:
    from specflow.engine.change import Change
    from specflow.engine.hub import Hub
    from specflow.workspace.workspaces import Workspaces

CHANGE_ID = "add-greeting-endpoint"
GOAL = "Serve greetings over HTTP, and greet everyone the same way in the API and the bot"
REPOS = ("api", "bot")
MAX_APPLY_ATTEMPTS = 3
IDENTITY = {"user.name": "specflow demo", "user.email": "demo@specflow.invalid"}
# hub folders each component repo sees through a symlink, as in the hub pattern
HUB_LINKS = ("openspec", "shared")
_TOOL_LINE = re.compile(r"^(Read|Write|Edit|Bash|Grep|Glob)\s")

DemoEventKind = Literal["section", "command", "agent", "info", "warning", "file", "done"]


class DemoEvent(Struct, frozen=True):
    """One thing the demo did, for the CLI to show.

    ``section`` starts a numbered step; ``command`` is the CLI command a person would type for
    it; ``agent`` wraps the engine's and the agent's live events (``agent_event``); ``info`` and
    ``warning`` are facts; ``file`` names a file worth opening; ``done`` ends the demo.
    """

    kind: DemoEventKind
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)
    agent_event: AgentEvent | None = None


DemoCallback = Callable[[DemoEvent], None]


def ignore_demo_event(event: DemoEvent) -> None:
    """The default callback: drop the event."""


class DemoResult(Struct):
    """Where everything is once the demo has run, and what happened on the way."""

    root: Path
    hub: Path
    repos: dict[str, Path]
    change_id: str
    agent: str
    archived_dir: Path | None = None
    specs: list[Path] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: int = 0
    diff_stat: str = ""
    merges: list[dict[str, Any]] = field(default_factory=list)
    approval: Approval | None = None
    duration_s: float = 0.0

    def commands(self, prog: str = "specflow") -> list[tuple[str, str]]:
        """Commands to explore the result, each with what it shows (``prog``: how to run specflow)."""
        hub = shlex.quote(str(self.hub))
        cid = self.change_id
        out = [
            (f"{prog} -C {hub} status --all", "every change: state, phase, tasks, cost"),
            (f"{prog} -C {hub} history {cid} -v", "every attempt, its checks and the refused write"),
            (f"{prog} -C {hub} show greetings", "the living spec the change modified"),
            (f"{prog} -C {hub} checkpoints {cid}", "the snapshots taken before each agent turn"),
            (f"{prog} -C {hub} validate --all --strict", "the living specs, as OpenSpec checks them"),
            (f"git -C {hub} log --oneline --graph", "the hub: specflow's commit per attempt, published and landed"),
        ]
        for name, path in self.repos.items():
            out.append(
                (
                    f"git -C {shlex.quote(str(path))} log --oneline --graph",
                    f"the {name} repo: the change's branch merged",
                )
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "hub": str(self.hub),
            "repos": {k: str(v) for k, v in self.repos.items()},
            "change": self.change_id,
            "agent": self.agent,
            "archived": str(self.archived_dir) if self.archived_dir else None,
            "specs": [str(p) for p in self.specs],
            "attempts": dict(self.attempts),
            "refused": list(self.refused),
            "checkpoints": self.checkpoints,
            "diff_stat": self.diff_stat,
            "merges": list(self.merges),
            "approval": self.approval,
            "duration_s": round(self.duration_s, 3),
            "commands": [c for c, _ in self.commands()],
        }


def example_dir() -> Path:
    """The example shipped with specflow (``examples/hub``: folders ``hub``, ``api``, ``bot``)."""

    return builtin_dir("examples") / "hub"


def check_destination(dest: Path) -> None:
    """Refuse a destination that is a file or a folder with anything in it."""
    if dest.is_file() or (dest.is_symlink() and not dest.is_dir()):
        raise DemoError(f"{dest} is a file; the demo needs a new or empty folder", fix="pass --dir with another path")
    if dest.is_dir() and any(dest.iterdir()):
        raise DemoError(
            f"{dest} is not empty; the demo writes a hub and two repos into a new or empty folder",
            fix=f"pass --dir with a new folder, or remove {dest} first",
        )


def check_agent(name: str) -> None:
    """Refuse an agent the example hub cannot run, before anything is written."""

    config = load_config(example_dir() / "hub", cache=False)  # never write inside the installed package
    if name not in config.agents and config.agent(name).adapter not in adapter_names():
        known = sorted(set(config.agents) | set(adapter_names()))
        raise AgentError(
            f"unknown agent {name!r} (known: {', '.join(known)})",
            fix="pass one of the known names, e.g. --agent claude-code",
        )


# -- setting up the example -------------------------------------------------------------------


def _python_word(value: str) -> str:
    """``value`` with a leading ``python`` word replaced by this interpreter (shell-quoted)."""
    if value == "python" or value.startswith("python "):
        return shlex.quote(sys.executable) + value[len("python") :]
    return value


def localize_config(path: Path) -> None:
    """Point the example's ``python`` commands at the interpreter running specflow.

    ``command: [python, ...]`` (agents) and ``setup:`` / ``test:`` lines starting with ``python``
    are rewritten, so the demo works where only ``python3`` (or a virtualenv) exists.
    """
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        m = re.match(r"^(\s*command:\s*\[)\s*python\s*,(.*)$", line, re.DOTALL)
        if m:
            line = f"{m.group(1)}{json.dumps(sys.executable)},{m.group(2)}"
        m = re.match(r"^(\s*(?:setup|test):\s*)(python\b[^\n#]*?)(\s*(?:#.*)?)(\n?)$", line)
        if m:
            line = f"{m.group(1)}{json.dumps(_python_word(m.group(2)))}{m.group(3)}{m.group(4)}"
        out.append(line)
    path.write_text("".join(out), encoding="utf-8")


def _git(cwd: Path, *args: str) -> str:

    return run_git(list(args), cwd).stdout.decode("utf-8", "replace")


def init_repo(path: Path, message: str) -> str:
    """``git init`` with branch ``main``, a local identity, and everything committed."""
    _git(path, "init", "-q")
    _git(path, "symbolic-ref", "HEAD", "refs/heads/main")
    for key, value in IDENTITY.items():
        _git(path, "config", key, value)
    _git(path, "config", "commit.gpgsign", "false")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", message)
    return _git(path, "rev-parse", "--short", "HEAD").strip()


def copy_example(dest: Path, on_event: DemoCallback = ignore_demo_event) -> dict[str, Path]:
    """Copy the example into ``dest``, link the hub into each repo, and make each a git repo."""
    src = example_dir()
    if not (src / "hub" / "specflow.yaml").is_file():
        raise DemoError(
            f"the example hub is missing from this installation ({src})",
            fix="reinstall specflow (pip install --force-reinstall specflow)",
        )
    if shutil.which("git") is None:
        raise DemoError("git is not installed (no 'git' on PATH)", fix="install git 2.38 or later")
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".setup-done", ".specflow")
    paths: dict[str, Path] = {}
    for name in ("hub", *REPOS):
        shutil.copytree(src / name, dest / name, ignore=ignore, symlinks=True)
        paths[name] = dest / name
    localize_config(paths["hub"] / "specflow.yaml")
    for name in REPOS:
        for link in HUB_LINKS:
            target = paths[name] / link
            if not target.exists() and not target.is_symlink():
                try:
                    os.symlink(Path("..") / "hub" / link, target, target_is_directory=True)
                except OSError:  # no symlinks here (some Windows setups): worktrees get their own
                    continue
    for name in ("hub", *REPOS):
        sha = init_repo(paths[name], f"{name}: initial commit")
        on_event(
            DemoEvent(
                "info", f"{name:<4} {paths[name]}  (git repo, main at {sha})", {"repo": name, "path": str(paths[name])}
            )
        )
    on_event(DemoEvent("info", "api and bot see the hub's openspec/ and shared/ through symlinks (git-ignored)"))
    return paths


# -- driving the change -----------------------------------------------------------------------


def describe_gate(gate: Mapping[str, Any]) -> str:
    """A gate in one short line: ``gate: read-only`` or what the phase may write."""
    if gate.get("read_only"):
        return "gate: read-only (the agent may write nothing)"
    allowed = [f"the {Path(str(w)).name} worktree" for w in gate.get("worktrees") or []]
    allowed += [str(g) for g in gate.get("write") or []]
    return "gate: may write only " + (", ".join(allowed) if allowed else "nothing")


class _Forward:
    """Wraps engine and agent events as demo events; the scripted agent's stderr lines that
    name a tool (``Write api/service.py``) become ``tool`` events, counted as turns."""

    def __init__(self, on_event: DemoCallback) -> None:
        self.on_event = on_event
        self.turn = 0
        self.refusals: list[str] = []
        self.layer: str | None = None

    def __call__(self, event: AgentEvent) -> None:
        if event.kind == "sandbox":
            self.layer = str(event.data.get("layer") or "off")
        if event.kind == "output" and event.message.startswith(REFUSED_PREFIX):
            self.refusals.append(event.message[len(REFUSED_PREFIX) :])
        if event.kind == "output" and _TOOL_LINE.match(event.message) and "label" not in event.data:
            self.turn += 1
            event = AgentEvent("tool", event.message, {**event.data, "turn": self.turn})
        elif event.kind == "phase" and isinstance(event.data.get("gate"), Mapping):
            event = AgentEvent("phase", describe_gate(event.data["gate"]), event.data)
        self.on_event(DemoEvent("agent", event.message, {"kind": event.kind}, agent_event=event))


def _spec_changed(hub: Path, rel: str) -> bool:
    """True if ``rel`` in the hub differs from its last committed version."""
    return bool(_git(hub, "status", "--porcelain", "--", rel).strip())


def _violation_path(violation: Mapping[str, Any], hub: Path) -> str:
    """Where a refused write landed, as a person would name it (hub-relative, or ``repo/path``)."""
    workspace = str(violation.get("workspace") or "hub")
    path = str(violation.get("path") or "")
    if os.path.isabs(path):
        try:
            return Path(os.path.realpath(path)).relative_to(os.path.realpath(hub)).as_posix()
        except ValueError:
            return path
    return path if workspace == "hub" else f"{workspace}/{path}"


def _section(text: str, title: str) -> str:
    """The first paragraph under the Markdown heading ``## title`` (empty if absent)."""
    m = re.search(rf"^##\s+{re.escape(title)}\s*\n+(.+?)(?:\n\s*\n|\n#|\Z)", text, re.MULTILINE | re.DOTALL)
    return " ".join(m.group(1).split()) if m else ""


def _delta_summary(change_dir: Path) -> list[str]:
    """One line per delta spec: ``greetings: ADDED Greeting endpoint; MODIFIED Greeting by name``."""
    lines: list[str] = []
    specs = change_dir / "specs"
    for path in sorted(specs.rglob("spec.md")) if specs.is_dir() else []:
        parts: list[str] = []
        op = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^##\s+(ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements", line, re.IGNORECASE)
            if m:
                op = m.group(1).upper()
                continue
            m = re.match(r"^###\s*Requirement:\s*(.+?)\s*$", line)
            if m and op:
                parts.append(f"{op} {m.group(1)!r}")
        lines.append(f"{path.parent.relative_to(specs).as_posix()}: " + ("; ".join(parts) or "no requirements"))
    return lines


def _shorten(text: str, width: int = 110) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


class _DemoRun:
    """The demo's steps, in order; each reports what it does and what a person would type."""

    hub: Hub
    change: Change
    ws: Workspaces
    result: DemoResult

    def __init__(self, dest: Path, agent: str | None, on_event: DemoCallback) -> None:
        self.dest = dest
        self.agent = agent
        self.on_event = on_event
        self.started = time.monotonic()

    # -- reporting ------------------------------------------------------------------------

    def emit(self, kind: DemoEventKind, message: str, **data: Any) -> None:
        self.on_event(DemoEvent(kind, message, data))

    def commit(self, message: str) -> None:
        """Show what specflow committed for the step on the change's hub branch: state travels with git.

        (``message`` names the step; the person's checkout is never committed by the demo.)
        """
        ref = f"specflow/{CHANGE_ID}"
        found = _git(self.hub.root, "log", "-1", "--format=%h %s", ref).strip()
        if found:
            sha, _, subject = found.partition(" ")
            self.emit("info", f"{ref} at {sha}: {subject}", commit=sha, step=message)

    def advance(self) -> _Forward:
        forward = _Forward(self.on_event)
        self.change.advance(agent=self.agent, on_event=forward)
        return forward

    def show_next(self) -> None:
        """What ``specflow status`` says to do next: the column a person reads between steps."""
        st = self.change.status()
        nxt = st["next"]
        command = f": {nxt['command']}" if nxt["command"] else ""
        self.emit(
            "info", f"status: {st['state']} [{st['status']}], next {nxt['action']}{command} ({nxt['why']})", next=nxt
        )

    # -- steps ----------------------------------------------------------------------------

    def setup(self) -> None:

        self.emit("section", "Copy the example hub and its two repos", step="setup")
        paths = copy_example(self.dest, self.on_event)
        self.hub = Hub.open(paths["hub"])
        self.result = DemoResult(
            root=self.dest,
            hub=paths["hub"],
            repos={name: paths[name] for name in REPOS},
            change_id=CHANGE_ID,
            agent=self.agent or self.hub.config.default_agent,
        )

    def doctor(self) -> None:
        self.emit("section", "Doctor: the hub's setup, checked before any agent runs", step="doctor")
        self.emit("command", "specflow doctor")
        checks = check_hub(self.hub.root)
        for check in checks:
            mark = {"ok": "ok  ", "info": "info", "fail": "FAIL"}[check.status]
            fix = f" (fix: {check.fix})" if check.fix else ""
            self.emit("warning" if check.failed else "info", f"{mark} {check.name}: {check.detail}{fix}")
        failed = [c for c in checks if c.failed]
        if failed:
            raise DemoError(
                f"the example hub's setup has {len(failed)} problem(s): " + "; ".join(c.name for c in failed),
                fix="; ".join(c.fix or c.detail for c in failed),
            )

    def new(self) -> None:
        self.emit("section", "Create a change across both repos", step="new")
        self.emit("command", f"specflow new {CHANGE_ID} --repo api --repo bot --goal {shlex.quote(GOAL)}")
        self.change = self.hub.new_change(CHANGE_ID, workflow="openspec", goal=GOAL, repos=list(REPOS))
        self.emit("info", f"{self.rel(self.change.dir)}/  state: {self.change.state}, workflow: openspec")
        self.commit(f"specflow new {CHANGE_ID}")

    def explore(self) -> None:
        self.emit("section", "Explore: the agent thinks, and may write nothing", step="explore")
        self.emit("command", f"specflow advance {CHANGE_ID}")
        self.advance()
        self.result.attempts["explore"] = 1
        notes = self.change.dir / "exploration.md"
        text = notes.read_text(encoding="utf-8") if notes.is_file() else ""
        self.emit("file", f"{self.rel(notes)} ({len(text.splitlines())} lines): the agent's answer, saved by specflow")
        recommendation = _section(text, "Recommendation")
        if recommendation:
            self.emit("info", _shorten(f"recommendation: {recommendation}"))
        self.commit(f"{CHANGE_ID}: explore")
        self.show_next()

    def propose(self) -> None:
        self.emit("section", "Propose: proposal, design, tasks and a delta spec", step="propose")
        self.emit("command", f"specflow advance {CHANGE_ID}")
        self.advance()
        self.result.attempts["propose"] = 1
        for p in sorted(self.change.dir.rglob("*.md")):
            if ".specflow" not in p.parts and p.name != "exploration.md":
                self.emit("file", f"{self.rel(p)} ({len(p.read_text(encoding='utf-8').splitlines())} lines)")
        for line in _delta_summary(self.change.dir):
            self.emit("info", f"delta {line}")
        self.commit(f"{CHANGE_ID}: propose")
        self.show_next()

    def approve(self) -> None:

        self.emit("section", "Approve: a person signs off the proposal", step="approve")
        by = who_am_i(self.dest)  # whoever runs the demo: git's user.name, else the login name
        note = "Reviewed the proposal, the tasks and the delta spec"
        self.emit("command", f"specflow approve {CHANGE_ID} --note {shlex.quote(note)}")
        approval = self.change.approve(by=by, note=note)
        self.result.approval = approval
        self.emit(
            "info",
            f"approved by {approval['by']}, bound to the artifacts' digest {str(approval['digest'])[:12]}:"
            " editing the proposal afterwards voids the approval",
        )
        self.commit(f"{CHANGE_ID}: approved by {by}")
        self.show_next()

    def apply(self) -> None:
        self.emit("section", "Apply: code and tests in a worktree of each repo", step="apply")
        for attempt in range(1, MAX_APPLY_ATTEMPTS + 1):
            self.result.attempts["apply"] = attempt
            self.emit("command", f"specflow advance {CHANGE_ID}", attempt=attempt)
            forward = _Forward(self.on_event)
            try:
                self.change.advance(agent=self.agent, on_event=forward)
                self.report_sandbox_refusals(forward)
                break
            except PhaseFailed as exc:
                self.report_sandbox_refusals(forward)
                self.report_failed_apply(exc, attempt)
        tasks = self.change.status()["tasks"]
        self.emit(
            "info",
            f"tasks: {tasks['done']}/{tasks['total']} done, ticked in the hub's tasks.md"
            " through the worktrees' openspec link",
        )
        self.commit(f"{CHANGE_ID}: apply")
        self.show_next()

    def report_sandbox_refusals(self, forward: _Forward) -> None:
        """Say which layer held the agent, and each write outside its gate the sandbox refused."""
        layer = forward.layer
        if layer in (None, "off"):
            self.emit(
                "warning",
                "no sandbox layer runs here, so nothing stops a write outside the gate before it happens:"
                " the audit puts it back afterwards",
                layer=layer or "off",
            )
            return
        for refusal in forward.refusals:
            path = refusal.split(":", 1)[0]
            self.result.refused.append({"path": path, "by": "sandbox", "layer": layer, "detail": refusal})
            self.emit(
                "warning",
                f"refused: write {path} (outside the apply gate) by the {layer} sandbox, at the system call:"
                f" {refusal.split(':', 1)[-1].strip()}; nothing reached the disk",
                layer=layer,
                path=path,
            )

    def report_failed_apply(self, exc: PhaseFailed, attempt: int) -> None:
        failed = exc.results[-1] if exc.results else None
        violations = [dict(v) for v in (getattr(failed, "violations", None) or [])]
        reasons = list(getattr(failed, "reasons", None) or [exc.message])
        self.result.refused.extend({**v, "by": "audit"} for v in violations)
        hub = self.result.hub
        for v in violations:
            where = _violation_path(v, hub)
            self.emit("warning", f"refused: {v.get('kind', 'changed')} {where} (outside the apply gate)", violation=v)
            if v.get("workspace") == "hub" and (hub / where).is_file():
                back = not _spec_changed(hub, where)
                state = "put back, identical to its committed version" if back else "STILL CHANGED on disk"
                self.emit("info", f"{where}: {state}", path=where, restored=back)
        if not violations:
            for reason in reasons:
                self.emit("warning", _shorten(reason, 300))
        self.emit(
            "warning",
            f"attempt {attempt} failed, so the change stays in 'propose'; the in-gate work (code, commits,"
            " ticked tasks) is kept",
            attempt=attempt,
            reasons=reasons,
        )
        if attempt == MAX_APPLY_ATTEMPTS:
            raise DemoError(
                f"the apply phase failed {attempt} times: " + "; ".join(reasons),
                fix=f"see 'specflow -C {hub} history {CHANGE_ID} -v'",
            )
        self.emit("info", 'retry: the reasons go into the next prompt, under "Why the last attempt failed"')

    def review(self) -> None:

        self.ws = Workspaces(self.hub.root, self.hub.config, CHANGE_ID, list(REPOS))
        self.emit("section", "Review: checkpoints and the diff", step="review")
        self.emit("command", f"specflow checkpoints {CHANGE_ID}")
        checkpoints = self.ws.checkpoints()
        changed = self.ws.changed_since(checkpoints)
        self.result.checkpoints = len(checkpoints)
        for cp in checkpoints:
            self.emit(
                "info",
                f"#{cp.number}  before {cp.phase} (state {cp.state}): {len(cp.workspaces)} workspaces"
                f" snapshot, {changed.get(cp.number, 0)} file(s) changed since",
                checkpoint=cp.to_dict(),
            )
        self.emit("info", f"any of them can be restored: specflow revert {CHANGE_ID} --to N")
        self.emit("command", f"specflow diff {CHANGE_ID} --stat")
        self.result.diff_stat = self.change.diff(stat=True)
        for line in self.result.diff_stat.rstrip().splitlines():
            if line.strip():
                self.emit("info", line.rstrip())

    def merge(self) -> None:
        self.emit("section", "Merge: each repo's branch into its base", step="merge")
        self.emit("command", f"specflow merge {CHANGE_ID}")
        merges = self.change.merge()
        self.result.merges = [m.to_dict() for m in merges]
        for m in merges:
            sha = f" as {m.commit[:10]}" if m.commit else ""
            self.emit(
                "info", f"{m.repo}: {m.status} {m.branch} into {m.base}{sha} ({m.files} file(s))", merge=m.to_dict()
            )
        self.show_next()

    def archive(self) -> None:
        self.emit("section", "Archive: shared docs updated, deltas merged into the specs", step="archive")
        self.emit("command", f"specflow advance {CHANGE_ID}")
        self.advance()
        self.result.attempts["archive"] = 1
        archived = self.hub.archived_dir(CHANGE_ID)
        self.result.archived_dir = archived
        if archived is not None:
            self.change.dir = archived
            for action in self.change.history()[-1].get("actions") or []:
                if action.get("summary"):
                    self.emit("info", f"{action.get('action')}: {action['summary']}")
            self.emit("file", f"{self.rel(archived)}/: the change, with its state and history")
            for line in _delta_summary(archived):
                self.emit("info", f"merged {line}")
        for p in sorted((self.hub.root / "openspec" / "specs").rglob("spec.md")):
            if _spec_changed(self.hub.root, self.rel(p)):
                self.result.specs.append(p)
                self.emit("file", f"{self.rel(p)}: the living spec, with the change merged")
        for p in sorted((self.hub.root / "shared").rglob("*")):
            if p.is_file() and _spec_changed(self.hub.root, self.rel(p)):
                self.emit("file", f"{self.rel(p)}: updated by the agent in the archive phase")
        self.commit(f"{CHANGE_ID}: archive")
        self.show_next()

    def rel(self, path: Path) -> str:
        return path.relative_to(self.hub.root).as_posix()

    def finish(self) -> DemoResult:
        self.result.duration_s = time.monotonic() - self.started
        self.emit("done", f"done in {self.result.duration_s:.1f}s", result=self.result.to_dict())
        return self.result


def run_demo(
    dest: Path,
    *,
    agent: str | None = None,
    on_event: DemoCallback = ignore_demo_event,
) -> DemoResult:
    """Copy the example into ``dest`` and drive one change through every phase.

    ``agent`` overrides the example's scripted agent (e.g. ``"claude-code"``).  Raises
    ``DemoError`` when ``dest`` is not new or empty, or when a step fails for good; every other
    ``SpecflowError`` (a failed guard, an unknown agent) passes through unchanged.
    """
    dest = Path(os.path.abspath(dest))
    check_destination(dest)
    if agent is not None:
        check_agent(agent)
    demo = _DemoRun(dest, agent, on_event)
    demo.setup()
    for step in (
        demo.doctor,
        demo.new,
        demo.explore,
        demo.propose,
        demo.approve,
        demo.apply,
        demo.review,
        demo.merge,
        demo.archive,
    ):
        step()
    return demo.finish()


__all__ = [
    "CHANGE_ID",
    "DemoError",
    "DemoEvent",
    "DemoResult",
    "check_destination",
    "example_dir",
    "run_demo",
]
