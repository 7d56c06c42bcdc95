"""The ``run`` script installs only when pyproject.toml changed.

The script runs for real (bash), in a copy of the project's ``run`` and
``pyproject.toml``, with a stand-in venv whose programs (python, pip through
``python -m pip``, intakeforms, ruff, mypy, pytest) only write down how they
were called: what is tested is the script's own decision, in seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

STAND_IN = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$(dirname "$0")/../calls.log"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "run", tmp_path / "run")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "examples").mkdir()
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "intakeforms", "ruff", "mypy", "pytest"):
        program = bin_dir / name
        program.write_text(STAND_IN)
        program.chmod(0o755)
    return tmp_path


def run(project: Path, *argv: str) -> list[str]:
    """Run ``./run ARGV`` in ``project``; the stand-ins' calls it made."""
    log = project / "venv" / "calls.log"
    log.unlink(missing_ok=True)
    env = dict(os.environ, VENV="venv", INTAKE_SECRET="s" * 32, PYTHON="python3")
    subprocess.run(
        ["bash", "./run", *argv], cwd=project, env=env, check=True, capture_output=True, timeout=60
    )
    return log.read_text().splitlines() if log.exists() else []


def installs(calls: list[str]) -> list[str]:
    return [call for call in calls if call.startswith("python -m pip install --quiet -e")]


def test_a_second_demo_does_not_run_pip(project: Path) -> None:
    first = run(project, "demo")
    assert installs(first) == ["python -m pip install --quiet -e ."]
    second = run(project, "demo")
    assert installs(second) == []
    # Still checks and serves the examples.
    assert [call.split()[:2] for call in second] == [
        ["intakeforms", "check"],
        ["intakeforms", "serve"],
    ]


def test_a_changed_pyproject_installs_again(project: Path) -> None:
    run(project, "demo")
    with (project / "pyproject.toml").open("a") as file:
        file.write("\n# a new dependency\n")
    assert installs(run(project, "demo")) == ["python -m pip install --quiet -e ."]
    assert installs(run(project, "demo")) == []


def test_test_installs_its_extras_once_and_covers_the_demo(project: Path) -> None:
    run(project, "demo")
    # The demo's install lacks the test tools.
    assert installs(run(project, "test")) == ["python -m pip install --quiet -e .[test]"]
    again = run(project, "test")
    assert installs(again) == []
    assert [call.split()[0] for call in again] == ["ruff", "ruff", "mypy", "pytest"]
    assert installs(run(project, "demo")) == []


def test_a_deleted_stamp_installs_again(project: Path) -> None:
    run(project, "demo")
    (project / "venv" / ".intakeforms-installed").unlink()
    assert installs(run(project, "demo")) == ["python -m pip install --quiet -e ."]
