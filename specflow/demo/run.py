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

The steps are here; copying the example is ``example_hub``'s, the events and the result are
``report``'s, and the one-line summaries of what the agent wrote are ``summaries``'.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.demo.example_hub import REPOS, check_agent, check_destination, copy_example, git_output
from specflow.demo.report import DemoCallback, DemoEvent, DemoEventKind, DemoResult, Forward, ignore_demo_event
from specflow.demo.summaries import delta_summary, section, shorten, violation_path
from specflow.engine.doctor import check_hub
from specflow.engine.hub import Hub
from specflow.errors import DemoError, PhaseFailed
from specflow.workspace.git import who_am_i
from specflow.workspace.workspaces import Workspaces

if TYPE_CHECKING:
    from specflow.engine.change import Change
    from specflow.engine.hub import Hub
    from specflow.workspace.workspaces import Workspaces

CHANGE_ID = "add-greeting-endpoint"
GOAL = "Serve greetings over HTTP, and greet everyone the same way in the API and the bot"
MAX_APPLY_ATTEMPTS = 3


# -- driving the change -----------------------------------------------------------------------


def _spec_changed(hub: Path, rel: str) -> bool:
    """True if ``rel`` in the hub differs from its last committed version."""
    return bool(git_output(hub, "status", "--porcelain", "--", rel).strip())


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
        found = git_output(self.hub.root, "log", "-1", "--format=%h %s", ref).strip()
        if found:
            sha, _, subject = found.partition(" ")
            self.emit("info", f"{ref} at {sha}: {subject}", commit=sha, step=message)

    def advance(self) -> Forward:
        forward = Forward(self.on_event)
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
        recommendation = section(text, "Recommendation")
        if recommendation:
            self.emit("info", shorten(f"recommendation: {recommendation}"))
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
        for line in delta_summary(self.change.dir):
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
            forward = Forward(self.on_event)
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

    def report_sandbox_refusals(self, forward: Forward) -> None:
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
            where = violation_path(v, hub)
            self.emit("warning", f"refused: {v.get('kind', 'changed')} {where} (outside the apply gate)", violation=v)
            if v.get("workspace") == "hub" and (hub / where).is_file():
                back = not _spec_changed(hub, where)
                state = "put back, identical to its committed version" if back else "STILL CHANGED on disk"
                self.emit("info", f"{where}: {state}", path=where, restored=back)
        if not violations:
            for reason in reasons:
                self.emit("warning", shorten(reason, 300))
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
            for line in delta_summary(archived):
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
    "run_demo",
]
