"""The ``ui`` command from a terminal, and the start path it must leave alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from specflow.engine.events import events_dir
from tests.conftest import HubFixture

DASHBOARD = ("starlette", "uvicorn", "markdown_it", "pygments")
# what is loaded as the command ends: an exit handler (the command runs every one) reports it
PROBE = (
    "import atexit, sys, runpy\nsys.argv = ['specflow', *sys.argv[1:]]\n"
    "def report():\n"
    f"    loaded = sorted(m for m in sys.modules if m.split('.')[0] in {DASHBOARD!r} or m.startswith('specflow.ui.'))\n"
    "    kept = ('specflow.engine.board', 'specflow.engine.timeline')\n"
    "    print('LOADED', ' '.join(m for m in loaded if m not in kept))\n"
    "atexit.register(report)\n"
    "runpy.run_module('specflow', run_name='__main__')\n"
)


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["status"], ["advance", "--help"], ["ui", "--help"]])
def test_the_start_path_imports_nothing_of_the_dashboard(hub: HubFixture, argv: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "-C", str(hub.root), *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        check=True,
    )
    loaded = out.stdout.rsplit("LOADED", 1)[1].split()
    assert loaded == []


def test_a_taken_port_is_a_user_error(hub: HubFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "specflow", "-C", str(hub.root), "ui", "--port", str(port), "--no-open"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in out.stderr and "fix: pick another port" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_server_says_where_it_is_for_background_runs(hub: HubFixture, tmp_path: Path) -> None:
    from specflow.ui import local

    assert local.running_url(hub.root) is None
    proc = subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(hub.root), "ui", "--port", "0", "--no-open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = ""
        for _ in range(10):
            line = proc.stdout.readline()
            if "open http://127.0.0.1:" in line:
                url = line.split("open ", 1)[1].strip()
                break
        assert url and "?token=" in url
        assert local.running_url(hub.root) == url
        assert oct((events_dir(hub.root) / "ui.json").stat().st_mode & 0o777) == "0o600"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert local.running_url(hub.root) is None


def test_without_the_ui_extra_the_command_says_how_to_install_it(hub: HubFixture) -> None:
    # an interpreter where starlette cannot be imported, as without 'pip install specflow[ui]'
    script = (
        "import sys\n"
        "class NoStarlette:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'starlette':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoStarlette())\n"
        "from specflow.cli.main import main\n"
        f"sys.exit(main(['-C', {str(hub.root)!r}, 'ui', '--no-open']))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "the dashboard's dependencies are not installed (starlette is missing)" in out.stderr
    assert "fix: pip install 'specflow[ui]'" in out.stderr
