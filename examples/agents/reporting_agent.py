"""A ``command`` agent that reports its work through specflow's event lines.

In ``specflow.yaml``::

    agents:
      reporter:
        adapter: command
        command: [python, examples/agents/reporting_agent.py]

It reads the prompt on stdin, reads the change's Markdown files, and prints notes about them on
stdout (the phase's answer).  On stderr it says what it does: JSON lines with a ``"specflow"`` key
are events (a session, tool calls, text, tokens, cost) that ``specflow status``, ``history`` and
the budget steps read; any other line is plain progress.  A real agent would call a model where
this one counts words, and report the tokens and price the model's API returns.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

#: An example price in US dollars per token (input, output).
PRICE_PER_TOKEN = (3.0 / 1_000_000, 15.0 / 1_000_000)


def event(kind: str, **fields: object) -> None:
    """Write one event line on stderr."""
    print(json.dumps({"specflow": 1, "event": kind, **fields}), file=sys.stderr, flush=True)


def main() -> int:
    prompt = sys.stdin.read()
    change = os.environ["SPECFLOW_CHANGE"]
    phase = os.environ["SPECFLOW_PHASE"]
    # a resumed attempt keeps its session; a new one starts its own
    event("session", id=os.environ.get("SPECFLOW_RESUME") or f"reporter-{uuid.uuid4().hex[:12]}")
    print(f"looking at {change} for the {phase} phase", file=sys.stderr, flush=True)  # a plain line

    folder = Path(os.environ["SPECFLOW_HUB"]) / "openspec" / "changes" / change
    words_in = len(prompt.split())
    headings: list[str] = []
    for path in sorted(folder.glob("*.md")):
        event("tool", name="Read", input={"file_path": str(path)})
        text = path.read_text(encoding="utf-8")
        words_in += len(text.split())
        headings += [
            f"- {path.name}: {line.lstrip('# ').strip()}" for line in text.splitlines() if line.startswith("#")
        ]

    answer = (
        f"# Notes on {change}\n\nWhat the change's files cover:\n" + ("\n".join(headings) or "- nothing yet") + "\n"
    )
    event("text", text=f"{len(headings)} headings found in {change}")
    words_out = len(answer.split())
    event("tokens", input=words_in, output=words_out)
    event("cost", usd=round(words_in * PRICE_PER_TOKEN[0] + words_out * PRICE_PER_TOKEN[1], 6))
    print(answer, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
