"""Record the stream-json transcripts the parser's unit tests read, from the REAL Claude Code binary.

    .venv/bin/python tests/claude/record_transcripts.py [BINARY]

Each scenario runs the pinned binary (``.tools/node_modules/.bin/claude`` or ``$SPECFLOW_CLAUDE``)
through ``ClaudeCodeAdapter`` against the scripted Messages API on 127.0.0.1, and copies the raw
transcript the adapter kept to ``tests/claude/transcripts/<name>.jsonl``.  Re-record after bumping
the pinned Claude Code version: the event schema changes between releases.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))  # run as a script: the repo's root holds the ``tests`` package

from specflow.agents.base import AgentRequest, AgentResult  # noqa: E402
from specflow.agents.claude.adapter import ClaudeCodeAdapter  # noqa: E402
from specflow.workspace.gates import GatePolicy  # noqa: E402
from tests.claude.scripted_api import ScriptedAPI, quiet_env, script  # noqa: E402

OUT = HERE / "transcripts"


def _binary() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("SPECFLOW_CLAUDE") or str(REPO / ".tools" / "node_modules" / ".bin" / "claude")


def main() -> int:
    binary = _binary()
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="specflow-record-") as tmp, ScriptedAPI() as api:
        base = Path(tmp)
        hub = base / "hub"
        (hub / "openspec" / "changes" / "add-login").mkdir(parents=True)
        (hub / "README.md").write_text("# Demo hub\n", encoding="utf-8")
        home = base / "home"
        for sub in ("tmp", "run"):
            (home / sub).mkdir(parents=True)
        env = quiet_env(api.url, str(home))
        writing = GatePolicy(
            hub=hub, write_globs=("openspec/changes/add-login/**",), phase="propose", change_id="add-login"
        )
        read_only = GatePolicy(hub=hub, read_only=True, phase="explore", change_id="add-login")

        def run(name: str, gate: GatePolicy, prompt: str, **kw: Any) -> AgentResult:
            options = {"binary": binary, **kw.pop("options", {})}
            request = AgentRequest(
                prompt=prompt,
                cwd=hub,
                gate=gate,
                hub=hub,
                change_id="add-login",
                phase=gate.phase,
                transcript_dir=base / "transcripts",
                env=env,
                timeout=kw.pop("timeout", 60),
                options=options,
                **kw,
            )
            result = ClaudeCodeAdapter().run(request)
            assert result.transcript_path is not None
            shutil.copyfile(result.transcript_path, OUT / f"{name}.jsonl")
            print(f"{name}: {result.status} {result.error or ''}")
            return result

        scenarios: list[Callable[[], AgentResult]] = [
            lambda: run(
                "propose_guarded",
                writing,
                script(
                    "read README.md",
                    "write openspec/changes/add-login/proposal.md # Why\\nUsers need to log in.",
                    "write README.md out of the gate",
                    "bash ls openspec/changes",
                    "answer Proposal written.",
                ),
            ),
            lambda: run(
                "permission_rules",
                writing,
                script("write README.md refused by the rules", "answer Could not write README.md."),
                options={"hook": False},
            ),
            lambda: run(
                "explore_read_only",
                read_only,
                script("bash ls", "bash touch scratch.txt", "write notes.md not offered", "answer Thoughts."),
            ),
            lambda: run("max_turns", writing, script("loop"), max_turns=2),
            lambda: run("budget", writing, script("loop"), budget_usd=0.002),
        ]
        for scenario in scenarios:
            scenario()
        first = run("resume_first", writing, script("bash echo first-attempt", "answer First."))
        run(
            "resumed",
            writing,
            script("bash echo second-attempt", "answer Second."),
            resume_session=first.session_id,
        )
        run(
            "resume_missing",
            writing,
            script("answer never"),
            resume_session="00000000-0000-4000-8000-000000000000",
            options={"resume_fallback": False},
        )
        run("hang_killed", writing, script("hang"), timeout=3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
