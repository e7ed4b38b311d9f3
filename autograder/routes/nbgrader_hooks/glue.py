"""How the kit runs nbgrader: its environment, its CLI, its API and its preprocessors, in one place.

    run_nbgrader(["generate_assignment", a], course)    # the real CLI, with the kit's nbgrader_config.py
    generate_feedback(course, a, db_url)                # nbgrader's API in this process
    clear_hidden_tests(source)                          # nbgrader's ClearHiddenTests on one test cell

nbgrader is imported inside the functions only: the batch's workers import this package and must
not pay for nbgrader.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from ...course.assignment import ROOT
from ...course.assignment import assignment as find_assignment
from . import messages as say

CONFIG = ROOT / "nbgrader_config.py"


def nbgrader_path(path: str | None = None) -> str:
    """PATH with this interpreter's bin folder first: nbgrader runs `alembic` by name when it
    creates or upgrades a gradebook database."""
    bin_dir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "") if path is None else path
    return path if path.split(os.pathsep, 1)[0] == bin_dir else bin_dir + os.pathsep + path


def nbgrader_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an nbgrader command (a copy of os.environ by default)."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = nbgrader_path(env.get("PATH", ""))
    return env


def use_nbgrader_env() -> None:
    """The same PATH for nbgrader running in this process (its API, its Gradebook)."""
    os.environ["PATH"] = nbgrader_path()


def course_args(course: Path, db_url: str | None = None) -> list[str]:
    """The command-line options that move the kit's configuration onto another course root."""
    return [f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url={db_url or sqlite_url(course)}"]


def sqlite_url(course: Path) -> str:
    return f"sqlite:///{Path(course) / 'gradebook.db'}"


def configured_db_url(course: Path, config_file: Path = CONFIG) -> str:
    """The gradebook nbgrader itself uses for `course`: the config's CourseDirectory.db_url when the
    course is the config's own root (an instructor may point it at PostgreSQL there: the batch must
    not write into a gradebook.db beside it), else the course's gradebook.db."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    directory = config.CourseDirectory
    root = Path(directory.root) if "root" in directory else config_file.parent
    if "db_url" in directory and Path(course).resolve() == root.resolve():
        return str(directory.db_url)
    return sqlite_url(course)


def run_nbgrader(args: list[str], course: Path, env: Mapping[str, str] | None = None) -> None:
    """Run the real nbgrader CLI with the repository's config on another course root; raises
    RuntimeError with nbgrader's output when it fails. env: variables set for it (and its kernels)."""
    cmd = [sys.executable, "-m", "nbgrader", *args, *course_args(course)]
    done = subprocess.run(cmd, cwd=ROOT, env={**nbgrader_env(), **(env or {})}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def course_config(course: Path, db_url: str) -> Any:
    """The kit's nbgrader_config.py (the preprocessors: ClearHiddenTests, SanitizeFeedback...) on
    another course root and database."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = db_url
    return config


def generate_feedback(course: Path, assignment: str, db_url: str) -> list[str]:
    """nbgrader's own feedback (HTML, hidden tests cleared) from autograded/ and the gradebook,
    through NbGraderAPI. Returns the students nbgrader could make no feedback for: nbgrader goes
    on with the others and removes a failed student's feedback folder, so they are the students
    of autograded/ without feedback; if nbgrader failed before any student, its error instead."""
    from nbgrader.apps import NbGraderAPI

    use_nbgrader_env()
    api = NbGraderAPI(config=course_config(course, db_url))
    api.log.setLevel("CRITICAL")  # its log is returned in the result (and was never shown)
    result = api.generate_feedback(assignment, force=True)
    if result.get("success"):
        return []
    notebook = f"{find_assignment(assignment).notebook}.html"
    graded = sorted(p.parent.name for p in Path(course, "autograded").glob(f"*/{assignment}"))
    failed = [s for s in graded if not (Path(course, "feedback", s, assignment, notebook)).is_file()]
    error = str(result.get("error") or result.get("log") or "").strip()
    return failed or [say.feedback_failed(error[-300:])]


@cache
def _hidden_tests_clearer() -> Any:
    from nbgrader.preprocessors import ClearHiddenTests

    # only the judge's test cells are given to it (never the student's cells)
    return ClearHiddenTests(enforce_metadata=False)


def clear_hidden_tests(source: str) -> str:
    """A test cell's source without its hidden tests, by nbgrader's ClearHiddenTests (the same
    delimiters as `nbgrader generate_assignment`); trailing blank lines dropped."""
    from nbformat import from_dict

    cell = from_dict({"cell_type": "code", "metadata": {}, "source": source})  # type: ignore[no-untyped-call]
    cell, _ = _hidden_tests_clearer().preprocess_cell(cell, {}, 0)
    return str(cell.source).rstrip("\n")
