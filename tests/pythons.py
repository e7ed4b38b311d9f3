"""The judge's runtime on every Python the machine has (3.10-3.13): one venv per interpreter,
built from autograder/requirements-judge.txt alone (never the kit's lock), and a grade with it.

Used by tests/test_judge_pythons.py and benchmarks/judge_pythons.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.course.assignment import ROOT
from tests import run_folder

REQUIREMENTS = ROOT / "autograder" / "requirements-judge.txt"
VENVS = ROOT / "build" / "judge-pythons"
VERSIONS = ("3.10", "3.11", "3.12", "3.13")


def interpreter(version: str) -> Path | None:
    """A CPython `version` on this machine: pyenv's, else one on PATH."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for found in sorted(pyenv.glob(f"{version}.*"), reverse=True):
        if (found / "bin" / "python3").is_file():
            return found / "bin" / "python3"
    on_path = shutil.which(f"python{version}")
    return Path(on_path) if on_path else None


def judge_venv(python: Path) -> Path:
    """A venv of `python` with exactly the judge's pinned runtime (kept per requirements' content)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    version = subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    venv = VENVS / f"{version}-{digest}"
    VENVS.mkdir(parents=True, exist_ok=True)
    with run_folder.locked(VENVS / f"{venv.name}.lock"):  # the run's other processes wait
        if not (venv / ".installed").is_file():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "--quiet", "--disable-pip-version-check"]
            subprocess.run([*pip, "install", "--no-deps", "-r", str(REQUIREMENTS)], check=True)
            subprocess.run([*pip, "check"], check=True)
            (venv / ".installed").touch()
    return venv / "bin" / "python"


def judge_venvs() -> dict[str, Path | Exception | None]:
    """version -> judge_venv() of that Python (or the exception building it raised), None where
    the machine lacks it: the `judge_venvs` fixture of tests/test_judge_pythons.py (built in the
    background), so that each version's test fails on its own."""
    built: dict[str, Path | Exception | None] = {}
    for version in VERSIONS:
        python = interpreter(version)
        try:
            built[version] = judge_venv(python) if python else None
        except Exception as e:
            built[version] = e
    return built


def grade(python: Path | str, notebook: Path, out: Path) -> dict:
    """`python -m autograder grade NOTEBOOK --json OUT` with that interpreter, in the kit's folder."""
    done = subprocess.run(
        [str(python), "-m", "autograder", "grade", str(notebook), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
    )
    if done.returncode != 0 or not out.is_file():
        raise AssertionError(f"grade with {python} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(out.read_text(encoding="utf-8"))


def kit_python() -> Path:
    return Path(sys.executable)
