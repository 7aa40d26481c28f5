"""The wheel: its distribution name and metadata, its built-in data, and a fresh install running the demo.

The distribution is ``specflow-openspec`` (``specflow`` and ``specflow-agent`` on PyPI are other
projects); the import package and the command stay ``specflow``.
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
import sysconfig
import zipfile
from email.message import Message
from pathlib import Path

import pytest

from specflow._version import __version__

REPO = Path(__file__).resolve().parents[2]
DISTRIBUTION = "specflow-openspec"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, once for the module."""
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = wheels.glob("*.whl")
    return built


def metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as zf:
        return email.message_from_bytes(zf.read(f"specflow_openspec-{__version__}.dist-info/METADATA"))


def test_the_wheel_is_named_for_pypi_and_says_what_it_is(wheel: Path) -> None:
    assert wheel.name == f"specflow_openspec-{__version__}-py3-none-any.whl"
    meta = metadata(wheel)
    assert meta["Name"] == DISTRIBUTION
    assert meta["License-Expression"] == "MIT"
    assert meta["License-File"] == "LICENSE"
    assert meta["Requires-Python"] == ">=3.11"
    classifiers = meta.get_all("Classifier") or []
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Repository", "Issues", "Changelog"}
    assert urls["Changelog"].endswith("/CHANGELOG.md")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        license_text = zf.read(f"specflow_openspec-{__version__}.dist-info/licenses/LICENSE").decode()
        entry_points = zf.read(f"specflow_openspec-{__version__}.dist-info/entry_points.txt").decode()
    assert license_text.startswith("MIT License\n\nCopyright (c) 2026 specflow developers\n")
    assert "specflow = specflow.cli.start:entry" in entry_points
    assert "specflow/__init__.py" in names and not any(n.startswith("specflow_openspec/") for n in names)


def test_the_changelog_has_this_version_and_an_unreleased_section() -> None:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    assert f"## [{__version__}] - " in text


def test_the_readme_installs_the_distribution_by_its_name() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"pip install {DISTRIBUTION}" in readme
    assert "pip install specflow " not in readme and "pip install 'specflow[" not in readme


def test_wheel_contains_and_finds_builtin_data(wheel: Path, tmp_path: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "specflow/_data/workflows/openspec.yaml",
        "specflow/_data/workflows/quick.yaml",
        "specflow/_data/templates/explore.md.j2",
        "specflow/_data/templates/propose.md.j2",
        "specflow/_data/templates/apply.md.j2",
        "specflow/_data/templates/archive.md.j2",
        "specflow/_data/examples/agents/reporting_agent.py",
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
    module, workflows, templates = out.stdout.splitlines()
    assert module.startswith(str(target)), module
    assert workflows == str(target / "specflow" / "_data" / "workflows")
    assert (Path(workflows) / "openspec.yaml").is_file()
    assert (Path(templates) / "explore.md.j2").is_file()


def test_a_fresh_venv_installs_the_wheel_by_its_name_and_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    # this pip installs into the fresh venv; the dependencies come from the configured index (PyPI)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONNOUSERSITE"] = "1"
    shown = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, specflow; print(m.version('specflow-openspec')); print(specflow.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    version, module = shown.stdout.splitlines()
    assert version == __version__
    assert module.startswith(str(venv)), module
    demo = subprocess.run(
        [str(venv / "bin" / "specflow"), "demo", "--dir", str(tmp_path / "demo")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    archive = tmp_path / "demo" / "hub" / "openspec" / "changes" / "archive"
    archived = [p.name for p in archive.iterdir() if p.is_dir()]
    assert [name.endswith("-add-greeting-endpoint") for name in archived] == [True], archived
    version_out = subprocess.run(
        [str(venv / "bin" / "specflow"), "--version"], env=env, capture_output=True, text=True, check=True
    )
    assert version_out.stdout.strip() == f"specflow {__version__}"
