"""One started Claude Code run, from its launch to its result (the adapter's ``Started``).

A ``ClaudeSession`` is what ``ClaudeCodeAdapter.start`` returns: Claude Code started in the phase's
sandbox and waiting for its prompt, so the phase's checkpoint is taken while its runtime loads.
It holds the run's generated settings folder and transcript files, reads the stream on a thread
while it runs, keeps to the time limit, stops the process and everything it started, and turns
how it ended into an ``AgentResult`` — and starts afresh once when the session to resume is gone.
The adapter module keeps the entry point (options, environment, the binary); this one the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from specflow.agents.base import AgentEvent, AgentRequest, AgentResult, EventCallback, Status
from specflow.agents.claude.binary import INSTALL_HINT
from specflow.agents.claude.options import ClaudeOptions, command
from specflow.agents.claude.settings import build_phase_settings, guard_command
from specflow.agents.claude.stream import StreamParser, StreamSummary
from specflow.agents.exitwatch import ExitWatch
from specflow.agents.output import CappedLog, Line, pump_pipe, tail_text
from specflow.agents.proctree import KILL_GRACE_S, descendants, exited, sandbox_event, send_prompt, stop_tree
from specflow.errors import AgentError
from specflow.sandbox.launch import Launched, spawn
from specflow.structs import Struct, field
from specflow.tempfiles import temp_folder
from specflow.trees import remove_tree

DEFAULT_TIMEOUT_S = 3600.0
"""Time limit when neither the workflow nor ``specflow.yaml`` sets one."""

EXIT_GRACE_S = 10.0
"""How long Claude Code may take to exit once its output has ended."""
STREAM_LINE_LIMIT = 8 << 20
"""Bytes of one stream line parsed (8 MiB); a longer line is cut, reported and skipped."""
STREAM_QUEUE_LINES = 8
"""Lines read ahead of the parser: with ``STREAM_LINE_LIMIT`` this bounds the memory it takes."""
_NO_SESSION = re.compile(r"No conversation found with session ID", re.IGNORECASE)


def own_paths(env: Mapping[str, str]) -> list[str]:
    """What Claude Code itself must write inside a sandbox: its config, session and temp folders.

    ``~/.claude`` (sessions, transcripts; made here so a layer can grant it) and ``~/.claude.json``
    when it exists; HOME itself stays read-only.  Claude Code carries on without writing a new
    ``~/.claude.json``.  More paths: ``writable:`` under the agent in specflow.yaml.
    """
    home = env.get("HOME") or os.path.expanduser("~")
    own = os.path.join(home, ".claude")
    os.makedirs(own, exist_ok=True)
    paths = [own, os.path.join(home, ".claude.json")]
    for name in ("CLAUDE_CONFIG_DIR", "CLAUDE_CODE_TMPDIR", "XDG_RUNTIME_DIR"):
        if env.get(name):
            paths.append(env[name])
    return paths


def _python() -> str:
    """The interpreter the guard hook runs under: this one, where specflow is importable."""
    return sys.executable or shutil.which("python3") or "python3"


def _stamp() -> str:
    """The current UTC time as ``20260102T030405.250000Z`` (``datetime`` costs ~1 ms to import)."""
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds)) + f".{micros:06d}Z"


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "phase"


def claude_transcript(home: str | None, cwd: Path, session_id: str | None) -> Path | None:
    """Where Claude Code keeps its own transcript of a session (what ``--resume`` reads)."""
    if not home or not session_id:
        return None
    slug = re.sub(r"[^A-Za-z0-9]", "-", os.path.realpath(cwd))
    return Path(home) / ".claude" / "projects" / slug / f"{session_id}.jsonl"


def describe_failure(summary: StreamSummary, exit_code: int | None, request: AgentRequest) -> tuple[Status, str | None]:
    """The status of a finished (not timed-out) run, and the reason when it failed."""
    errors = "; ".join(summary.errors)
    if summary.result_seen:
        if summary.subtype == "success" and not summary.is_error:
            if exit_code in (0, None):
                return "success", None
            return "error", f"Claude Code reported success but exited with code {exit_code}"
        if summary.subtype == "error_max_turns":
            limit = f" ({request.max_turns})" if request.max_turns else ""
            return "error", (
                f"Claude Code reached the turn limit{limit} before finishing;"
                " raise max_turns for this phase or narrow the task"
            )
        if summary.subtype == "error_max_budget_usd":
            spent = f"${summary.cost_usd:.4f}" if summary.cost_usd is not None else "its budget"
            limit = f" of ${request.budget_usd:g}" if request.budget_usd else ""
            return "error", f"Claude Code stopped at the budget limit{limit} after spending {spent}"
        if summary.subtype == "error_during_execution":
            return "error", f"Claude Code failed during execution: {errors or 'no detail given'}"
        detail = errors or summary.final_text.strip() or "no detail given"
        return "error", f"Claude Code ended with '{summary.subtype}': {detail}"
    if exit_code is not None and exit_code < 0:
        return "crashed", f"Claude Code was killed by signal {-exit_code} before it gave a result"
    return "crashed", f"Claude Code exited with code {exit_code} without giving a result"


class ClaudeSession:
    """One phase attempt of Claude Code, started and waiting for its prompt (``Started``)."""

    def __init__(
        self,
        request: AgentRequest,
        options: ClaudeOptions,
        binary: Path,
        env: dict[str, str],
        on_event: EventCallback,
    ) -> None:
        self.request, self.options, self.binary, self.env, self.on_event = request, options, binary, env, on_event
        self.started = time.monotonic()
        self.first = _Launch(request, options, binary, env, request.resume_session, on_event)

    def finish(self, prompt: str) -> AgentResult:
        """Send ``prompt`` and run to the end (once more, afresh, when the session to resume is gone)."""
        request, options = self.request, self.options
        result = self.first.finish(prompt)
        if (
            request.resume_session
            and options.resume_fallback
            and result.status == "error"
            and result.num_turns in (0, None)
            and _NO_SESSION.search(result.error or "")
        ):
            self.on_event(
                AgentEvent(
                    "warning",
                    f"session {request.resume_session} cannot be resumed here (Claude Code has no"
                    " record of it on this machine); starting a new session",
                    {"session_id": request.resume_session},
                )
            )
            result = _Launch(request, options, self.binary, self.env, None, self.on_event).finish(prompt)
        result.duration_s = time.monotonic() - self.started
        return result

    def cancel(self) -> None:
        """Stop it before it got its prompt."""
        self.first.cancel()


class _Launch:
    """One run of the CLI from its start to its result: generated settings, transcript, process."""

    def __init__(
        self,
        request: AgentRequest,
        options: ClaudeOptions,
        binary: Path,
        env: dict[str, str],
        resume: str | None,
        on_event: EventCallback,
    ) -> None:
        request.transcript_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{_safe_name(request.phase)}-{_stamp()}"
        self.transcript = request.transcript_dir / f"{stem}.jsonl"
        self.stderr_path = request.transcript_dir / f"{stem}.stderr.log"
        self.env, self.on_event, self.request = env, on_event, request
        self._open = contextlib.ExitStack()  # the settings folder and the output files, until the end
        try:
            tmp = temp_folder("specflow-claude-")
            self._open.callback(remove_tree, tmp, ignore_errors=True)
            gate_file = tmp / "gate.json"
            gate_file.write_text(request.gate.to_json(), encoding="utf-8")
            phase = build_phase_settings(
                request.gate,
                request.cwd,
                hook_command=guard_command(_python(), gate_file) if options.hook else None,
                allow_bash=options.allow_bash,
                extra_allow=options.allowed_tools,
                extra_deny=options.deny,
                extra_disallowed=options.disallowed_tools,
            )
            settings_file = tmp / "settings.json"
            settings_file.write_text(json.dumps(phase.settings, indent=2), encoding="utf-8")
            argv = command(binary, request, options, settings_file, phase.args, resume)
            stderr_file = self._open.enter_context(self.stderr_path.open("wb"))
            transcript_file = self._open.enter_context(self.transcript.open("wb"))
            self.run = _Run(request, StreamParser(on_event, cwd=Path(os.path.realpath(request.cwd))), transcript_file)
            self.run.start(argv, env, stderr_file, on_event)
        except BaseException:
            self._open.close()
            raise

    def finish(self, prompt: str) -> AgentResult:
        """Send ``prompt``, read the stream to its end, stop what is left; the result."""
        run = self.run
        with self._open:
            try:
                run.send_prompt(prompt)
                run.wait_for_exit(run.read_stream())
            finally:
                run.stop()
            run.close()
        result = run.result(self.stderr_path)
        result.transcript_path = self.transcript
        if self.stderr_path.exists() and self.stderr_path.stat().st_size == 0:
            self.stderr_path.unlink()
        own = claude_transcript(self.env.get("HOME"), self.request.cwd, result.session_id)
        if own is not None and own.exists():
            self.on_event(AgentEvent("output", f"Claude Code's own transcript: {own}", {"claude_transcript": str(own)}))
        return result

    def cancel(self) -> None:
        """Stop it unprompted, and remove what it was given and the transcript of a run that never was."""
        with self._open:
            self.run.stop()
            self.run.close()
        self.transcript.unlink(missing_ok=True)
        self.stderr_path.unlink(missing_ok=True)


class _Run(Struct):
    """One run of Claude Code: its process, the stream read so far, and how it ended."""

    request: AgentRequest
    parser: StreamParser
    transcript_file: IO[bytes]
    launch: Launched | None = None
    lines: queue.Queue[Line | None] = field(default_factory=lambda: queue.Queue(maxsize=STREAM_QUEUE_LINES))
    stop_reading: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None
    # what it started, remembered while it runs: once it exits, helpers it ran in sessions of
    # their own are orphans no tree walk can find
    known: dict[int, tuple[int, float]] = field(default_factory=dict)
    timed_out: bool = False
    lingered: bool = False
    # on Linux: tells the reader when Claude Code has begun to exit, before its output's EOF
    watch: ExitWatch | None = None

    def __post_init__(self) -> None:
        self.out = CappedLog(self.transcript_file)
        self.timeout = float(self.request.timeout) if self.request.timeout else DEFAULT_TIMEOUT_S

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self.launch is not None
        return self.launch.proc

    def start(self, argv: list[str], env: dict[str, str], stderr_file: IO[bytes], on_event: EventCallback) -> None:
        """Start Claude Code in the sandbox and read its stdout in a thread; it waits for its prompt."""
        request = self.request
        try:
            self.launch = spawn(
                argv,
                cwd=request.cwd,
                env=env,
                gate=request.gate,
                settings=request.sandbox,
                own=own_paths(env),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
            )
        except OSError as exc:
            raise AgentError(f"Claude Code ({argv[0]}) could not be started: {exc}", fix=INSTALL_HINT) from exc
        on_event(sandbox_event(self.launch))
        proc = self.proc
        assert proc.stdout is not None
        if sys.platform.startswith("linux"):
            self.watch = ExitWatch(proc.pid, proc.stdout.fileno())
        self.reader = threading.Thread(
            target=pump_pipe,
            args=(proc.stdout, self.lines, self.stop_reading, STREAM_LINE_LIMIT, self.watch),
            daemon=True,
        )
        self.reader.start()

    def send_prompt(self, prompt: str) -> None:
        """Write ``prompt`` to its stdin and close it."""
        assert self.proc.stdin is not None
        send_prompt(self.proc.stdin, prompt.encode("utf-8"))

    def read_stream(self) -> float:
        """Parse the stream until it ends, the result has been given for ``EXIT_GRACE_S``, or the
        time is up; returns the time left."""
        deadline = time.monotonic() + self.timeout
        last_scan = 0.0
        result_deadline: float | None = None
        remaining = self.timeout
        while True:
            now = time.monotonic()
            if now - last_scan >= 1.0:
                self.known.update(descendants(self.proc.pid))
                last_scan = now
            if result_deadline is not None and now >= result_deadline:
                return remaining  # it gave its result but keeps its output open: judge the result
            remaining = deadline - now
            if remaining <= 0:
                self.timed_out = True
                return remaining
            try:
                item = self.lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if item is None:
                return remaining
            self._take(*item)
            if self.parser.summary.result_seen and result_deadline is None:
                if self.watch is not None:
                    self.watch.arm()  # its exit comes next: the reader ends the stream when it begins
                self.known.update(descendants(self.proc.pid))
                result_deadline = time.monotonic() + EXIT_GRACE_S

    def _take(self, line: bytes, cut: int) -> None:
        """Keep one stream line in the transcript and parse it."""
        if cut:
            # too long to parse whole: keep its head in the transcript, report it
            marker = f" [specflow: {cut:,} more bytes of this line cut]\n"
            line = line.rstrip(b"\n") + marker.encode()
        self.out.write(line)
        self.parser.feed(line.decode("utf-8", errors="replace"))

    @property
    def exit_begun(self) -> bool:
        """Claude Code has begun to exit, and its stream ended there (see ``ExitWatch``)."""
        return self.watch is not None and self.watch.status is not None

    def wait_for_exit(self, remaining: float) -> None:
        """Give it ``EXIT_GRACE_S`` (at most the time left) to exit once its stream has ended;
        not once it has begun to exit (the kernel freeing its memory is not waited for)."""
        if self.timed_out or self.exit_begun:
            return
        if not exited(self.proc, min(EXIT_GRACE_S, max(remaining, 0.1))):
            self.lingered = True

    def stop(self) -> None:
        """End it and everything it started; leave nothing of the sandbox behind."""
        if self.launch is None:
            return
        stop_tree(self.proc, self.known, ended=self.exit_begun)
        self.launch.close()
        self.stop_reading.set()

    def close(self) -> None:
        if self.reader is not None:
            self.reader.join(timeout=KILL_GRACE_S)
        self.out.close()

    def result(self, stderr_path: Path) -> AgentResult:
        """The attempt's result, from the stream's summary and how the process ended."""
        summary = self.parser.finish()
        status, error = self._outcome(summary, stderr_path)
        return AgentResult(
            status=status,
            final_text=summary.final_text,
            error=error,
            session_id=summary.session_id,
            cost_usd=summary.cost_usd,
            tokens=dict(summary.tokens),
            num_turns=summary.num_turns,
            tool_calls=list(summary.tool_calls),
            refused_calls=list(summary.refused_calls),
            exit_code=self.exit_code,
            model=summary.model or self.request.model,
        )

    @property
    def exit_code(self) -> int | None:
        """Claude Code's exit code: read as it began to exit, or its supervisor's, which passes it on."""
        if self.watch is not None and self.watch.status is not None:
            return os.waitstatus_to_exitcode(self.watch.status)
        return self.proc.returncode

    def _outcome(self, summary: StreamSummary, stderr_path: Path) -> tuple[Status, str | None]:
        if self.timed_out:
            return "timeout", (
                f"Claude Code did not finish within the time limit of {self.timeout:g} s; it and every"
                " process it started were killed"
            )
        exit_code = self.exit_code
        if self.lingered and summary.result_seen:
            exit_code = None  # it gave its result, then had to be stopped: judge the result
        status, error = describe_failure(summary, exit_code, self.request)
        if self.lingered and not summary.result_seen:
            error = "Claude Code stopped giving output without a result and did not exit"
        if status == "crashed":
            tail = tail_text(stderr_path)
            if tail:
                error = f"{error}: {tail}"
        return status, error


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ClaudeSession",
    "claude_transcript",
    "describe_failure",
]
