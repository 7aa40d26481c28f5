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
from specflow.agents.proctree import descendants, exited, feed_stdin, sandbox_event, stop_tree
from specflow.errors import AgentError
from specflow.sandbox.launch import spawn

DEFAULT_TIMEOUT_S = 1800.0
"""Time limit of a ``command`` agent when neither the workflow nor ``specflow.yaml`` sets one."""


class CommandAdapter:
    """Runs ``options["command"]`` (argv) as the agent."""

    name = "command"

    def run(self, request: AgentRequest, on_event: EventCallback = ignore_event) -> AgentResult:
        argv = request.options.get("command")
        if not argv or not isinstance(argv, (list, tuple)) or not all(isinstance(a, str) for a in argv):
            raise AgentError(
                "the command adapter needs 'command': a list of program and arguments",
                fix="in specflow.yaml: agents: {NAME: {adapter: command, command: [python, agent.py]}}",
            )
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
        request.transcript_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{time.monotonic_ns() % 1_000_000:06d}"
        transcript = request.transcript_dir / f"{request.phase}-{stamp}.log"
        start = time.monotonic()
        try:
            launch = spawn(
                list(argv),
                cwd=request.cwd,
                env=env,
                gate=request.gate,
                settings=request.sandbox,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            return AgentResult(
                status="crashed",
                error=f"cannot start {argv[0]!r}: {exc.strerror or exc}",
                duration_s=time.monotonic() - start,
            )
        proc = launch.proc
        on_event(sandbox_event(launch))
        on_event(AgentEvent("start", f"started {Path(argv[0]).name} (pid {proc.pid})", {"pid": proc.pid}))
        answer = CappedText()
        reader = EventLineReader(on_event, cwd=Path(os.path.realpath(request.cwd)))

        def read_stdout(stream: IO[bytes], log: CappedLog) -> None:
            for chunk in iter(lambda: stream.read(65536), b""):
                answer.add(chunk)
                log.write(chunk)

        def read_stderr(stream: IO[bytes], log: CappedLog) -> None:
            for line, cut in read_lines(stream, sink=log.write):
                text = line.decode("utf-8", errors="replace")
                if cut:
                    text = text.rstrip("\n") + f" [… {cut:,} more bytes of this line cut]"
                reader.feed(text)

        assert proc.stdin and proc.stdout and proc.stderr
        known: dict[int, tuple[int, float]] = {}
        timeout = request.timeout or DEFAULT_TIMEOUT_S
        with transcript.open("wb") as err_file, transcript.with_suffix(".stdout.log").open("wb") as out_file:
            err_log, out_log = CappedLog(err_file), CappedLog(out_file)
            threads = [
                threading.Thread(target=feed_stdin, args=(proc.stdin, request.prompt.encode("utf-8")), daemon=True),
                threading.Thread(target=read_stdout, args=(proc.stdout, out_log), daemon=True),
                threading.Thread(target=read_stderr, args=(proc.stderr, err_log), daemon=True),
            ]
            for t in threads:
                t.start()
            timed_out = False
            try:
                deadline = time.monotonic() + timeout
                while not exited(proc, 0.2):
                    known.update(descendants(proc.pid))
                    if time.monotonic() >= deadline:
                        timed_out = True
                        break
            finally:
                # the agent, its group and every process it started in a session of its own
                stop_tree(proc, known)
                launch.close()
            for t in threads:
                t.join(timeout=5)
            err_log.close()
            out_log.close()
        duration = time.monotonic() - start
        result = _reported(reader.summary, answer, request)
        result.transcript_path = transcript
        result.duration_s = duration
        result.exit_code = proc.returncode
        if timed_out:
            result.status = "timeout"
            result.error = f"the agent did not finish within {timeout:g} s and was killed"
        elif proc.returncode != 0:
            result.status = "crashed"
            result.error = f"the agent exited with code {proc.returncode}"
            if proc.returncode < 0:
                result.error = f"the agent was killed by signal {-proc.returncode}"
            tail = [line[:300] for line in tail_text(transcript, 2000).splitlines()[-5:]]
            if tail:
                result.error += ": " + " | ".join(tail)
        else:
            on_event(AgentEvent("result", _finished(result), {"cost_usd": result.cost_usd, "tokens": result.tokens}))
        return result


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
