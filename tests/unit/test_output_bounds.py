"""Agent output is bounded: in memory, in the record and in the transcript, with the cuts marked.

The floods run in a child Python so its peak memory measures specflow's reading alone: the agents
are real processes writing hundreds of megabytes.  The peak is the child's ``VmHWM``, not its
``ru_maxrss``: Linux carries ``ru_maxrss`` over ``exec`` from the forked parent, so a child of a
big pytest process would start out "big".
"""

from __future__ import annotations

import io
import json
import queue
import random
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from specflow.agents import command
from specflow.agents.base import AgentRequest
from specflow.agents.claude.stream import parse_lines
from specflow.agents.output import (
    CappedLog,
    CappedText,
    Line,
    LineSplitter,
    pump_lines,
    read_lines,
    size_text,
    tail_text,
)
from specflow.workspace.gates import GatePolicy
from tests.conftest import python_script

REPO = Path(__file__).resolve().parents[2]
TRANSCRIPTS = REPO / "tests" / "claude" / "transcripts"
#: The child's peak memory must stay under this, whatever the agent writes (hundreds of MiB).
RSS_BOUND_KIB = 160 * 1024

RUN_AGENT = r"""
import json, resource, sys
from pathlib import Path

def peak_kib():
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # no /proc (macOS): ru_maxrss, in bytes there
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))

from specflow.agents import get_adapter
from specflow.agents.base import AgentRequest
from specflow.workspace.gates import GatePolicy

adapter, tmp, options = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
result = get_adapter(adapter).run(
    AgentRequest(prompt="flood", cwd=tmp, gate=GatePolicy(hub=tmp, phase="apply", change_id="add-x"), hub=tmp,
                 change_id="add-x", phase="apply", transcript_dir=tmp / "transcripts", timeout=120, options=options)
)
print(json.dumps({"maxrss_kib": peak_kib(), "record": result.to_dict(),
                  "final_len": len(result.final_text), "final_tail": result.final_text[-300:]}))
"""


def run_child(adapter: str, tmp_path: Path, options: dict[str, Any]) -> dict[str, Any]:
    script = tmp_path / "run_agent.py"
    script.write_text(RUN_AGENT, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script), adapter, str(tmp_path), json.dumps(options)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


# -- the pieces --------------------------------------------------------------------------------


def test_capped_text_holds_the_head_and_says_what_it_cut() -> None:
    text = CappedText(limit=10)
    for chunk in (b"0123456", b"789abcdef", b"ghij"):
        text.add(chunk)
    assert (text.held, text.cut) == (10, 10)
    assert (
        text.text()
        == "0123456789\n[specflow: output cut at 10 bytes; 10 bytes more not kept in memory or in the record]\n"
    )
    whole = CappedText(limit=10)
    whole.add(b"short")
    assert whole.text() == "short" and whole.cut == 0


def test_capped_log_writes_up_to_its_cap_then_a_marker() -> None:
    sink = io.BytesIO()
    log = CappedLog(sink, limit=4 << 20)
    for _ in range(6):
        log.write(b"y" * (1 << 20))
    log.close()
    assert sink.getvalue() == b"y" * (4 << 20) + (
        b"\n[specflow: transcript cut at 4,194,304 bytes (4.0 MiB); 2,097,152 bytes (2.0 MiB) more not kept]\n"
    )
    quiet = io.BytesIO()
    CappedLog(quiet).close()
    assert quiet.getvalue() == b""


def test_read_lines_never_holds_a_long_line_whole() -> None:
    data = b"short\n" + b"z" * 25 + b"\n" + b"tail without newline"
    seen: list[bytes] = []
    lines = list(read_lines(io.BytesIO(data), limit=10, sink=seen.append))
    assert lines == [(b"short\n", 0), (b"z" * 10, 15), (b"tail witho", 10)]
    assert b"".join(seen) == data  # the transcript still gets every byte
    assert max(len(piece) for piece in seen) <= 10


def lines_as_cut(data: bytes, limit: int) -> list[Line]:
    """What reading ``data`` line by line with ``limit`` gives: each line's first ``limit`` bytes
    (a newline past them dropped), and how many bytes of it were cut."""
    cut: list[Line] = []
    pieces = data.split(b"\n")
    for line in [piece + b"\n" for piece in pieces[:-1]] + [pieces[-1]] * bool(pieces[-1]):
        if len(line) <= limit:
            cut.append((line, 0))
        else:
            cut.append((line[:limit], len(line) - limit - line.endswith(b"\n")))
    return cut


def test_lines_are_cut_alike_however_their_bytes_arrive() -> None:
    rng = random.Random(16)
    cases = [b"", b"\n", b"a\n", b"0123456789\n", b"0123456789", b"0123456789ab\ncd", b"\n\n" + b"x" * 31]
    for _ in range(300):
        cases.append(bytes(rng.choice(b"ab\n") for _ in range(rng.randrange(60))))
    for data in cases:
        expected = lines_as_cut(data, 10)
        split = LineSplitter(limit=10)
        got: list[Line] = []
        at = 0
        while at < len(data):  # fed in pieces of every size, a line's bytes split anywhere
            step = rng.randrange(1, 14)
            got += split.feed(data[at : at + step])
            at += step
        assert got + split.end() == expected, data
        assert list(read_lines(io.BytesIO(data), limit=10)) == expected, data


def test_pump_lines_stops_when_told_even_with_a_full_queue() -> None:
    lines: queue.Queue[Line | None] = queue.Queue(maxsize=1)
    stop = threading.Event()
    thread = threading.Thread(target=pump_lines, args=(io.BytesIO(b"a\nb\nc\n"), lines, stop), daemon=True)
    thread.start()
    assert lines.get(timeout=5) == (b"a\n", 0)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_size_text_and_tail_text(tmp_path: Path) -> None:
    assert size_text(512) == "512 bytes"
    assert size_text(3 << 30) == "3,221,225,472 bytes (3.0 GiB)"
    log = tmp_path / "err.log"
    log.write_bytes(b"noise\n" * 100_000 + b"the real error\n")
    assert tail_text(log, 50).endswith("noise\nthe real error")
    assert tail_text(log, 50).startswith("…")
    assert tail_text(tmp_path / "missing.log") == ""


# -- whole agents flooding their output ------------------------------------------------------------

FLOOD = r"""
import sys
chunk = b"x" * (1 << 20)
for _ in range(500):
    sys.stdout.buffer.write(chunk)
sys.stdout.buffer.write(b"END")
print("one line of " + "e" * (300 << 20), file=sys.stderr)
print('{"specflow": 1, "event": "cost", "usd": 0.5}', file=sys.stderr)
"""


def test_a_command_agent_flooding_500_mib_keeps_memory_and_record_bounded(tmp_path: Path) -> None:
    agent = tmp_path / "flood.py"
    agent.write_text(FLOOD, encoding="utf-8")
    out = run_child("command", tmp_path, {"command": [sys.executable, str(agent)]})
    assert out["maxrss_kib"] < RSS_BOUND_KIB, f"peak memory {out['maxrss_kib'] // 1024} MiB"
    record = out["record"]
    assert record["status"] == "success"
    assert record["cost_usd"] == 0.5  # the event after the enormous stderr line still counts
    # memory: the first MiB of the answer and a marker saying what was cut
    assert out["final_len"] < (1 << 20) + 200
    assert out["final_tail"].endswith(
        "[specflow: output cut at 1,048,576 bytes (1.0 MiB); 523,239,427 bytes (499.0 MiB) more not kept"
        " in memory or in the record]\n"
    )
    # the record: its cap and a marker counting everything left out
    assert record["output_cut"] == 500 * (1 << 20) + 3 - (1 << 20)
    head, marker = record["final_text"].rsplit("\n[… ", 1)
    assert head == "x" * 8000
    missing = out["final_len"] - 8000 + record["output_cut"]
    assert marker == f"{missing:,} more characters of output not in the record; see the transcript]"
    # the transcripts: their cap and a marker each
    stderr_log = Path(record["transcript"])
    stdout_log = stderr_log.with_suffix(".stdout.log")
    for path in (stderr_log, stdout_log):
        assert path.stat().st_size < (64 << 20) + 200
        with path.open("rb") as fh:
            fh.seek(-200, 2)
            assert b"[specflow: transcript cut at 67,108,864 bytes (64.0 MiB);" in fh.read()


def test_a_claude_stream_with_an_enormous_line_is_read_in_bounded_memory(tmp_path: Path) -> None:
    recorded = TRANSCRIPTS / "permission_rules.jsonl"
    first, *rest = recorded.read_text(encoding="utf-8").splitlines(keepends=True)
    fake = tmp_path / "claude"
    fake.write_text(
        python_script(
            "import sys\n"
            "sys.stdin.read()\n"
            f"sys.stdout.write({first!r})\n"
            "chunk = 'q' * (1 << 20)\n"
            "for _ in range(300):\n"
            "    sys.stdout.write(chunk)\n"
            "sys.stdout.write('\\n')\n"
            f"sys.stdout.write({''.join(rest)!r})\n"
        ),
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "openspec" / "changes" / "add-x").mkdir(parents=True)
    out = run_child("claude-code", tmp_path, {"binary": str(fake)})
    assert out["maxrss_kib"] < RSS_BOUND_KIB, f"peak memory {out['maxrss_kib'] // 1024} MiB"
    record = out["record"]
    expected = parse_lines(recorded.read_text(encoding="utf-8").splitlines())
    assert record["status"] == "success", record["error"]
    assert record["cost_usd"] == expected.cost_usd and record["session_id"] == expected.session_id
    transcript = Path(record["transcript"])
    assert transcript.stat().st_size < (9 << 20)
    cut_line = transcript.read_text(encoding="utf-8").splitlines()[1]
    assert cut_line == "q" * (8 << 20) + f" [specflow: {(300 << 20) - (8 << 20):,} more bytes of this line cut]"


def test_a_command_agent_without_a_time_limit_gets_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert command.DEFAULT_TIMEOUT_S == 30 * 60
    monkeypatch.setattr(command, "DEFAULT_TIMEOUT_S", 1.0)
    agent = tmp_path / "slow.py"
    agent.write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    request = AgentRequest(
        prompt="",
        cwd=tmp_path,
        gate=GatePolicy(hub=tmp_path),
        hub=tmp_path,
        change_id="add-x",
        phase="apply",
        transcript_dir=tmp_path / "t",
        timeout=None,
        options={"command": [sys.executable, str(agent)]},
    )
    result = command.CommandAdapter().run(request)
    assert result.status == "timeout"
    assert result.error == "the agent did not finish within 1 s and was killed"
    assert result.duration_s < 15
