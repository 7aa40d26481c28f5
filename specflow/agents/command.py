"""The ``command`` adapter: any program as an agent.

The configured argv runs with the prompt on stdin and the phase's workspace as its working
directory; ``SPECFLOW_CHANGE``, ``SPECFLOW_PHASE``, ``SPECFLOW_HUB`` and ``SPECFLOW_GATE`` (JSON)
describe the run.  Its stdout is the final text; each stderr line is a progress event and goes
to the transcript.  A non-zero exit or a run past the time limit (the whole process group is
killed) is a failed attempt.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

from specflow.agents.base import AgentEvent, AgentRequest, AgentResult, EventCallback, ignore_event
from specflow.agents.proctree import descendants, exited, feed_stdin, sandbox_event, stop_tree
from specflow.errors import AgentError
from specflow.sandbox.launch import spawn


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
        out_chunks: list[bytes] = []

        def read_stdout(stream: IO[bytes]) -> None:
            for chunk in iter(lambda: stream.read(65536), b""):
                out_chunks.append(chunk)

        def read_stderr(stream: IO[bytes], log: IO[bytes]) -> None:
            for line in iter(stream.readline, b""):
                log.write(line)
                log.flush()
                text = line.decode("utf-8", errors="replace").rstrip()
                if text:
                    on_event(AgentEvent("output", text))

        assert proc.stdin and proc.stdout and proc.stderr
        known: dict[int, tuple[int, float]] = {}
        with transcript.open("wb") as log:
            threads = [
                threading.Thread(target=feed_stdin, args=(proc.stdin, request.prompt.encode("utf-8")), daemon=True),
                threading.Thread(target=read_stdout, args=(proc.stdout,), daemon=True),
                threading.Thread(target=read_stderr, args=(proc.stderr, log), daemon=True),
            ]
            for t in threads:
                t.start()
            timed_out = False
            try:
                deadline = None if request.timeout is None else time.monotonic() + request.timeout
                while not exited(proc, 0.2):
                    known.update(descendants(proc.pid))
                    if deadline is not None and time.monotonic() >= deadline:
                        timed_out = True
                        break
            finally:
                # the agent, its group and every process it started in a session of its own
                stop_tree(proc, known)
                launch.close()
            for t in threads:
                t.join(timeout=5)
        duration = time.monotonic() - start
        final = b"".join(out_chunks).decode("utf-8", errors="replace")
        if timed_out:
            return AgentResult(
                status="timeout",
                final_text=final,
                error=f"the agent did not finish within {request.timeout:g} s and was killed",
                transcript_path=transcript,
                duration_s=duration,
                exit_code=proc.returncode,
            )
        if proc.returncode != 0:
            tail = transcript.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            reason = f"the agent exited with code {proc.returncode}"
            if proc.returncode < 0:
                reason = f"the agent was killed by signal {-proc.returncode}"
            if tail:
                reason += ": " + " | ".join(tail)
            return AgentResult(
                status="crashed",
                final_text=final,
                error=reason,
                transcript_path=transcript,
                duration_s=duration,
                exit_code=proc.returncode,
            )
        on_event(AgentEvent("result", f"finished in {duration:.1f} s"))
        return AgentResult(
            status="success",
            final_text=final,
            transcript_path=transcript,
            duration_s=duration,
            exit_code=0,
            model=request.model,
        )
