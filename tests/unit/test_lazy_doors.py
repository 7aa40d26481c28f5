"""Each lazy door of the start path, in a fresh interpreter: closed after its module is imported,
open (and doing its job) once the branch that needs it runs.

``tests/unit/test_house.py`` keeps these modules off ``advance``'s path; this file shows the
branches that do need them still work, and load them only then.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from specflow.changestate.records import now_iso

# (door's module, what it keeps closed, code that takes the branch, what the branch prints)
DOORS = [
    pytest.param(
        "specflow.workspace.workspaces",
        "datetime",
        "from specflow.workspace.workspaces import _epoch\nprint(_epoch('2026-01-02T03:04:05.250000Z'))",
        "1767323045.25",
        id="a checkpoint's time read back by an audit",
    ),
    pytest.param(
        "specflow.engine.lease",
        "datetime",
        "from specflow.engine.lease import LeaseHolder\n"
        "held = LeaseHolder('laptop', 1, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:02:00.000000Z', 'c0ffee')\n"
        "print(held.expired(), held.expires.isoformat())",
        "True 2026-01-01T00:02:00+00:00",
        id="a lease's expiry",
    ),
    pytest.param(
        "specflow.workspace.git",
        "getpass",
        "from pathlib import Path\nfrom specflow.workspace.git import who_am_i\nprint(who_am_i(Path.cwd()))",
        getpass.getuser(),
        id="the approver's login name when git has no user.name",
    ),
    pytest.param(
        "specflow.cli.main",
        "difflib",
        "from specflow.cli.main import main\nprint(main(['advnce']))",
        "2",
        id="did you mean, for a mistyped command",
    ),
    pytest.param(
        "specflow.steps.registry",
        "difflib",
        "from specflow.steps.registry import build_registry\n"
        "print(build_registry().suggest('the proposal is aproved', n=1))",
        "['the proposal is approved']",
        id="did you mean, for an unknown step",
    ),
    pytest.param(
        "specflow.engine.doctor",
        "ctypes",
        "from specflow.engine.doctor import landlock_abi\nprint(type(landlock_abi()).__name__ in ('int', 'str'))",
        "True",
        id="doctor's Landlock probe",
    ),
    pytest.param(
        "specflow.sandbox.layers",
        "specflow.sandbox.landlock",
        "from specflow.sandbox.layers import problem\n"
        "why = problem('landlock')\n"
        "print(why is None or 'Landlock' in why)",
        "True",
        id="choosing the Landlock layer",
    ),
    pytest.param(
        "specflow.agents.output",
        "queue",
        "import io, threading\n"
        "from specflow.agents.output import pump_lines\n"
        "import queue\n"
        "lines = queue.Queue(maxsize=4)\n"
        "pump_lines(io.BytesIO(b'a\\nb\\n'), lines, threading.Event())\n"
        "print([lines.get() for _ in range(3)])",
        "[(b'a\\n', 0), (b'b\\n', 0), None]",
        id="pumping a Claude Code run's lines",
    ),
    pytest.param(
        "specflow.engine.doctor",
        "specflow.agents.claude.binary",
        "from pathlib import Path\n"
        "from specflow.definitions.config import AgentConfig, HubConfig\n"
        "from specflow.engine.doctor import check_agent\n"
        "config = HubConfig(agents={'cc': AgentConfig(adapter='claude-code', binary='/nowhere/claude')})\n"
        "check = check_agent(Path.cwd(), config, 'cc', versions=False)\n"
        "print(check.failed, check.name)",
        "True agent cc",
        id="finding Claude Code for a phase that runs it",
    ),
]


@pytest.mark.parametrize(("door", "closed", "branch", "printed"), DOORS)
def test_a_door_opens_only_on_its_branch_and_the_branch_works(
    door: str, closed: str, branch: str, printed: str, tmp_path: Path
) -> None:
    probe = f"import sys\nimport {door}\nprint({closed!r} in sys.modules)\n"
    # a folder outside any repository, and a home without a git identity: git has no user.name
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    before = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert before.stdout.strip() == "False", before.stderr
    code = f"import sys\n{branch}\nprint({closed!r} in sys.modules)\n"
    after = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert after.stdout.strip().splitlines()[-2:] == [printed, "True"], after.stdout + after.stderr


def test_records_write_their_time_as_datetime_would_without_importing_it() -> None:
    stamp = now_iso()
    written = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert len(stamp) == len("2026-01-02T03:04:05.250000Z")
    assert abs(written.timestamp() - time.time()) < 5
    assert stamp == written.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    code = "import sys\nfrom specflow.changestate.records import now_iso\nnow_iso()\nprint('datetime' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
