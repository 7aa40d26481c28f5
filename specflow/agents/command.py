"""The ``command`` adapter: any program as an agent.

The configured argv runs with the prompt on stdin and the phase's workspace as its working
directory; ``SPECFLOW_CHANGE``, ``SPECFLOW_PHASE``, ``SPECFLOW_HUB`` and ``SPECFLOW_GATE`` (JSON)
describe the run.  Its stdout is the final text; each stderr line goes to the transcript and is
either an event of the event-line protocol (``specflow.agents.event_lines``: tool calls, text,
cost, tokens, a session id, which fill the result as Claude Code's stream does) or a plain
progress line.  Output is bounded (``specflow.agents.output``): the first ``OUTPUT_LIMIT`` bytes
of stdout are the answer, each stream's transcript keeps up to ``TRANSCRIPT_LIMIT`` bytes, and
the cuts are marked.  A non-zero exit or a run past the time limit (``timeout``, by default
``DEFAULT_TIMEOUT_S``; the whole process tree is killed) is a failed attempt.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from specflow.agents.base import AgentEvent, AgentRequest, AgentResult, EventCallback, ignore_event
from specflow.agents.event_lines import EventLineReader, EventSummary
from specflow.agents.output import CappedLog, CappedText, read_lines, tail_text
from specflow.agents.proctree import descendants, exited, sandbox_event, send_prompt, stop_tree
from specflow.errors import AgentError
from specflow.sandbox.launch import Launched, can_hold, spawn

DEFAULT_TIMEOUT_S = 1800.0
"""Time limit of a ``command`` agent when neither the workflow nor ``specflow.yaml`` sets one."""


class CommandAdapter:
    """Runs ``options["command"]`` (argv) as the agent."""

    name = "command"

    def run(self, request: AgentRequest, on_event: EventCallback = ignore_event) -> AgentResult:
        return self.start(request, on_event).finish(request.prompt)

    def start(self, request: AgentRequest, on_event: EventCallback = ignore_event) -> CommandStart:
        """Start what can start ahead of the phase's checkpoint: the sandbox's helper, holding the
        program back until ``finish`` (a command may write before it reads its prompt)."""
        return CommandStart(request, on_event)


class CommandStart:
    """A command agent's run, its helper started ahead where the layer allows (``can_hold``)."""

    def __init__(self, request: AgentRequest, on_event: EventCallback) -> None:
        self.argv = _argv(request)
        self.run = _Run(request, on_event)
        self.launch: Launched | None = None
        self.failed: AgentResult | None = None
        if can_hold(request.sandbox):
            self._spawn(hold=True)

    def _spawn(self, *, hold: bool) -> None:
        request = self.run.request
        try:
            self.launch = spawn(
                self.argv,
                cwd=request.cwd,
                env=_environment(request),
                gate=request.gate,
                settings=request.sandbox,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                hold=hold,
            )
        except OSError as exc:
            self.failed = AgentResult(
                status="crashed",
                error=f"cannot start {self.argv[0]!r}: {exc.strerror or exc}",
                duration_s=time.monotonic() - self.run.start,
            )
            return
        self.run.on_event(sandbox_event(self.launch))

    def finish(self, prompt: str) -> AgentResult:
        """Start the program (let the helper go, or start it all now), run it to its end on ``prompt``."""
        if self.launch is None and self.failed is None:
            self._spawn(hold=False)
        if self.launch is None:
            assert self.failed is not None
            return self.failed
        launch = self.launch
        launch.release()
        pid = launch.proc.pid
        self.run.on_event(AgentEvent("start", f"started {Path(self.argv[0]).name} (pid {pid})", {"pid": pid}))
        self.run.supervise(launch, prompt)
        return self.run.result()

    def cancel(self) -> None:
        """Let the held helper go without its program, and wait for it to exit."""
        if self.launch is not None:
            self.launch.close()
            stop_tree(self.launch.proc, {})


def _argv(request: AgentRequest) -> list[str]:
    """The configured program and arguments, checked."""
    argv = request.options.get("command")
    if not argv or not isinstance(argv, (list, tuple)) or not all(isinstance(a, str) for a in argv):
        raise AgentError(
            "the command adapter needs 'command': a list of program and arguments",
            fix="in specflow.yaml: agents: {NAME: {adapter: command, command: [python, agent.py]}}",
        )
    return list(argv)


def _environment(request: AgentRequest) -> dict[str, str]:
    """This process's environment, the agent's, and the ``SPECFLOW_*`` variables describing the run."""
    env = {
        **os.environ,
        **request.env,
        "SPECFLOW_CHANGE": request.change_id,
        "SPECFLOW_PHASE": request.phase,
        "SPECFLOW_HUB": str(request.hub),
        "SPECFLOW_GATE": request.gate.to_json(),
        "SPECFLOW_CWD": str(request.cwd),
    }
    if request.model:
        env["SPECFLOW_MODEL"] = request.model
    if request.resume_session:
        env["SPECFLOW_RESUME"] = request.resume_session
    return env


class _Run:
    """One run of a command agent: its transcript, its answer and events, and how it ended."""

    def __init__(self, request: AgentRequest, on_event: EventCallback) -> None:
        self.request = request
        self.on_event = on_event
        request.transcript_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{time.monotonic_ns() % 1_000_000:06d}"
        self.transcript = request.transcript_dir / f"{request.phase}-{stamp}.log"
        self.start = time.monotonic()
        self.timeout = request.timeout or DEFAULT_TIMEOUT_S
        self.answer = CappedText()
        self.reader = EventLineReader(on_event, cwd=Path(os.path.realpath(request.cwd)))
        self.timed_out = False
        self.returncode: int | None = None

    def supervise(self, launch: Launched, prompt: str) -> None:
        """Feed ``prompt``, read both streams into the transcript, wait for the exit (or the time
        limit), then stop the agent, its group and every process it started."""
        proc = launch.proc
        assert proc.stdin and proc.stdout and proc.stderr
        known: dict[int, tuple[int, float]] = {}
        with self.transcript.open("wb") as err_file, self.transcript.with_suffix(".stdout.log").open("wb") as out_file:
            err_log, out_log = CappedLog(err_file), CappedLog(out_file)
            threads = [
                threading.Thread(target=self._read_stdout, args=(proc.stdout, out_log), daemon=True),
                threading.Thread(target=self._read_stderr, args=(proc.stderr, err_log), daemon=True),
            ]
            for t in threads:
                t.start()
            feeder = send_prompt(proc.stdin, prompt.encode("utf-8"))
            threads += [feeder] if feeder is not None else []
            try:
                self._wait(proc, known)
            finally:
                stop_tree(proc, known)
                launch.close()
            for t in threads:
                t.join(timeout=5)
            err_log.close()
            out_log.close()
        self.returncode = proc.returncode

    def _wait(self, proc: subprocess.Popen[bytes], known: dict[int, tuple[int, float]]) -> None:
        """Until the agent exits or its time is up, remembering what it starts."""
        deadline = time.monotonic() + self.timeout
        while not exited(proc, 0.2):
            known.update(descendants(proc.pid))
            if time.monotonic() >= deadline:
                self.timed_out = True
                return

    def _read_stdout(self, stream: IO[bytes], log: CappedLog) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):
            self.answer.add(chunk)
            log.write(chunk)

    def _read_stderr(self, stream: IO[bytes], log: CappedLog) -> None:
        for line, cut in read_lines(stream, sink=log.write):
            text = line.decode("utf-8", errors="replace")
            if cut:
                text = text.rstrip("\n") + f" [… {cut:,} more bytes of this line cut]"
            self.reader.feed(text)

    def result(self) -> AgentResult:
        """Success with the answer and what the agent reported, or why it failed."""
        result = _reported(self.reader.summary, self.answer, self.request)
        result.transcript_path = self.transcript
        result.duration_s = time.monotonic() - self.start
        result.exit_code = self.returncode
        if self.timed_out:
            result.status = "timeout"
            result.error = f"the agent did not finish within {self.timeout:g} s and was killed"
        elif self.returncode != 0:
            result.status = "crashed"
            result.error = _crash(self.returncode, self.transcript)
        else:
            self.on_event(
                AgentEvent("result", _finished(result), {"cost_usd": result.cost_usd, "tokens": result.tokens})
            )
        return result


def _crash(returncode: int | None, transcript: Path) -> str:
    """Why a non-zero exit failed the attempt, with the last lines the agent wrote to stderr."""
    error = f"the agent exited with code {returncode}"
    if returncode is not None and returncode < 0:
        error = f"the agent was killed by signal {-returncode}"
    tail = [line[:300] for line in tail_text(transcript, 2000).splitlines()[-5:]]
    return error + (": " + " | ".join(tail) if tail else "")


def _reported(summary: EventSummary, answer: CappedText, request: AgentRequest) -> AgentResult:
    """A successful result filled from the answer and what the agent reported in event lines."""
    return AgentResult(
        status="success",
        final_text=answer.text(),
        output_cut=answer.cut,
        session_id=summary.session_id,
        cost_usd=summary.cost_usd,
        tokens=dict(summary.tokens),
        tool_calls=list(summary.tool_calls),
        model=request.model,
    )


def _finished(result: AgentResult) -> str:
    words = [f"finished in {result.duration_s:.1f} s"]
    if result.tool_calls:
        words.append(f"{len(result.tool_calls)} tool calls")
    if result.cost_usd is not None:
        words.append(f"${result.cost_usd:.4f}")
    if result.tokens:
        words.append(f"{sum(result.tokens.values())} tokens")
    return ", ".join(words)
