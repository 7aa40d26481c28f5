"""The wheel ships the built-in workflows, templates and examples, found from outside the repo."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_contains_and_finds_builtin_data(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("specflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "specflow/_data/workflows/openspec.yaml",
        "specflow/_data/workflows/quick.yaml",
        "specflow/_data/templates/explore.md.j2",
        "specflow/_data/templates/propose.md.j2",
        "specflow/_data/templates/apply.md.j2",
        "specflow/_data/templates/archive.md.j2",
        "specflow/py.typed",
    ):
        assert required in names, required
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]]),
        "PYTHONNOUSERSITE": "1",
    }
    probe = (
        "import specflow.definitions.resources as r, specflow;"
        "print(specflow.__file__);"
        "print(r.builtin_dir('workflows'));"
        "print(r.builtin_dir('templates'))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:0] = {env['PYTHONPATH'].split(os.pathsep)!r}; {probe}"],
        cwd=outside,
        capture_output=True,
        text=True,
        check=True,
    )
    module, workflows, templates = out.stdout.split()
    assert module.startswith(str(target)), module
    assert workflows == str(target / "specflow" / "_data" / "workflows")
    assert (Path(workflows) / "openspec.yaml").is_file()
    assert (Path(templates) / "explore.md.j2").is_file()
