"""How the ``specflow`` command ends: as ``sys.exit`` would, without taking the interpreter apart.

``specflow.cli.main.leave`` runs every exit handler, flushes both streams and ends the process; a
thread still running makes it a plain ``sys.exit`` (the interpreter waits for it).  Each test runs
a fresh interpreter, since the point is what happens as the process ends.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _run(code: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)


def test_the_exit_code_every_byte_written_and_every_exit_handler_survive_the_quick_end() -> None:
    done = _run(
        "import atexit, sys\n"
        "from specflow.cli.main import leave\n"
        "atexit.register(lambda: print('handler ran'))\n"
        "sys.stdout.write('x' * 1_000_000)\n"
        "sys.stderr.write('on stderr')\n"
        "leave(3)\n"
    )
    assert done.returncode == 3
    assert done.stdout == b"x" * 1_000_000 + b"handler ran\n"  # buffered output and the handler's, in order
    assert done.stderr == b"on stderr"


def test_a_thread_still_running_is_waited_for(tmp_path: Path) -> None:
    marker = tmp_path / "written-by-the-thread"
    done = _run(
        "import threading, time\n"
        "from pathlib import Path\n"
        "from specflow.cli.main import leave\n"
        f"def late(): time.sleep(0.3); Path({str(marker)!r}).write_text('late')\n"
        "threading.Thread(target=late).start()\n"
        "leave(0)\n"
    )
    assert done.returncode == 0
    assert marker.read_text() == "late"  # the process ended only once the thread had written


def test_the_command_itself_ends_with_its_output_and_code(tmp_path: Path) -> None:
    """``python -m specflow`` goes through the same end as the console script."""
    ok = subprocess.run([sys.executable, "-m", "specflow", "--version"], capture_output=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith(b"specflow ")
    bad = subprocess.run(
        [sys.executable, "-m", "specflow", "-C", str(tmp_path), "status"], capture_output=True, timeout=60
    )
    assert bad.returncode == 1 and bad.stderr.strip()  # a clear message, not a silent end
