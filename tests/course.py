"""A temporary nbgrader course for end-to-end tests: real CLI, real files, the repository's config.

    course = make_course(tmp / "course")          # source/ copied, `nbgrader generate_assignment`
    add_students(course, ["s1", "s2"])            # `nbgrader db student import`
    place(course, "s1", notebook_path, timestamp="2024-06-01 10:00:00")
    nbgrader(course, "autograde", A)              # any nbgrader command; raises on failure
    batch(course, "--workers", "2")               # `python -m autograder batch A --root course`
    scores(course / "gradebook.db")               # {student: {grade cell: score}} via nbgrader.api

Every nbgrader command runs from the repository root (so nbgrader_config.py and the judge are
used) with only the course root and the database moved into the course. `nbgrader
generate_assignment` runs once per test run (released_course); make_course copies that course and
keeps `gradebook.fresh.db`, the database right after generate_assignment: `copy_course(...,
fresh_db=True)` starts another grading route from it without running nbgrader again.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from autograder.course.assignment import ROOT
from tests import run_folder
from tests.nb74 import NB74

RUBRIC = NB74.rubric
A = RUBRIC.assignment
NB = f"{RUBRIC.notebook}.ipynb"
FRESH_DB = "gradebook.fresh.db"


def env() -> dict[str, str]:
    """nbgrader runs `alembic` by name: this interpreter's bin folder first on PATH."""
    return {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}


def db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


sqlite_url = db_url  # (nbgrader()'s keyword of the same name hides db_url there)


def nbgrader(
    course: Path, *args: str, check: bool = True, timeout: float = 900, db_url: str | None = None
) -> subprocess.CompletedProcess:
    """Run the real nbgrader CLI on `course`; with check, a failure raises with nbgrader's log.
    db_url: the gradebook (default: the course's gradebook.db)."""
    cmd = [
        sys.executable,
        "-m",
        "nbgrader",
        *args,
        f"--CourseDirectory.root={course}",
        f"--CourseDirectory.db_url={db_url or sqlite_url(course)}",
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def batch_cmd(course: Path, *args: str) -> list[str]:
    """The command line of `python -m autograder batch <assignment> --root course --no-progress *args`
    as the instructor runs it: the one place tests and benchmarks spell it."""
    return [sys.executable, "-m", "autograder", "batch", A, "--root", str(course), "--no-progress", *args]


def batch(course: Path, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """`python -m autograder batch <assignment> --root course` as the instructor runs it."""
    done = subprocess.run(
        batch_cmd(course, *args), cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise AssertionError(f"batch exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def concurrently(*steps: Callable[[], Any]) -> list[Any]:
    """Run each step (a chain of real commands on a course of its own: an nbgrader route, a batch)
    in a thread of its own, all at the same time; their results in order, the first failure raised.
    nbgrader grades one notebook at a time: a second route beside it uses the machine's other core."""
    with ThreadPoolExecutor(len(steps)) as pool:
        futures = [pool.submit(step) for step in steps]
        return [f.result() for f in futures]


def released_course() -> Path:
    """source/<assignment> of the repository released with `nbgrader generate_assignment`, once per
    test run (the `released_course` fixture; tests/run_folder.py shares it between the run's
    processes): read it, never write into it (make_course copies it)."""
    return run_folder.built("released-course", _release) / "course"


def _release(base: Path) -> None:
    course = base / "course"
    shutil.copytree(ROOT / "source" / A, course / "source" / A)
    nbgrader(course, "generate_assignment", A)
    shutil.copy2(course / "gradebook.db", course / FRESH_DB)


def make_course(course: Path) -> Path:
    """source/<assignment> of the repository, released with `nbgrader generate_assignment`: a copy
    of the run's released course (source/, release/, the gradebook as released), so nbgrader runs
    generate_assignment once per run, not once per course."""
    return copy_course(released_course(), course)


def copy_course(src: Path, dst: Path, fresh_db: bool = True) -> Path:
    """source/, release/ and submitted/ of a course; with fresh_db, the gradebook as released."""
    for folder in ("source", "release", "submitted"):
        if (src / folder).exists():
            shutil.copytree(src / folder, dst / folder, symlinks=True)
    shutil.copy2(src / (FRESH_DB if fresh_db else "gradebook.db"), dst / "gradebook.db")
    shutil.copy2(src / FRESH_DB, dst / FRESH_DB)
    return dst


def add_students(course: Path, students: list[str], db_url: str | None = None) -> None:
    roster = course / "students.csv"
    with roster.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "first_name", "last_name", "email"])
        w.writerows([s, "Test", s, ""] for s in students)
    nbgrader(course, "db", "student", "import", str(roster), db_url=db_url)


def submission_dir(course: Path, student: str) -> Path:
    return course / "submitted" / student / A


def place(
    course: Path,
    student: str,
    notebook: Path | bytes | None,
    name: str = NB,
    timestamp: str | None = "2024-06-01 10:00:00.000000 UTC",
) -> Path:
    """submitted/<student>/<assignment>/<name> (a copy of a file, or these bytes) and timestamp.txt.

    notebook=None makes an empty submission folder (only timestamp.txt, if any)."""
    folder = submission_dir(course, student)
    folder.mkdir(parents=True, exist_ok=True)
    if timestamp is not None:
        (folder / "timestamp.txt").write_text(timestamp, encoding="utf-8")
    if notebook is None:
        return folder
    dst = folder / name
    if isinstance(notebook, bytes):
        dst.write_bytes(notebook)
    else:
        shutil.copyfile(notebook, dst)
    return dst


def scores(db: Path) -> dict[str, dict[str, float]]:
    """{student: {grade cell name: auto score, '_total': submission score}} from an nbgrader gradebook."""
    from nbgrader.api import Gradebook  # ~2 s to import: only when asked

    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for sub in gb.assignment_submissions(A):
            row = {g.name: float(g.score) for nb in sub.notebooks for g in nb.grades}
            row["_total"] = float(sub.score)
            out[sub.student_id] = row
    return out


def comments(db: Path) -> dict[str, str]:
    """{student: every automatic comment of the submission, joined} from an nbgrader gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        return {
            sub.student_id: "\n".join(c.auto_comment or "" for nb in sub.notebooks for c in nb.comments)
            for sub in gb.assignment_submissions(A)
        }


# -- the batch's journal, watched by an SQLite trigger (batch resume and Dask tests) ----------


def install_journal_log(db: Path) -> None:
    """Count every insert into the batch's journal (rolled back with its transaction if killed)."""
    from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook

    with JudgeGradebook(f"sqlite:///{db}"):  # creates nb74_judge_runs beside nbgrader's tables
        pass
    with sqlite3.connect(db) as con:
        con.executescript("""
            CREATE TABLE test_journal_log (student TEXT NOT NULL, sha256 TEXT NOT NULL);
            CREATE TRIGGER test_journal_log_insert AFTER INSERT ON nb74_judge_runs
            BEGIN INSERT INTO test_journal_log VALUES (NEW.student, NEW.sha256); END;
        """)
    con.close()


def journal_students(db: Path, table: str = "nb74_judge_runs") -> list[str]:
    """The students of a journal table, sorted, one per row (a student recorded twice shows twice)."""
    con = sqlite3.connect(db)
    try:
        return sorted(s for (s,) in con.execute(f"SELECT student FROM {table}"))
    finally:
        con.close()


def journal_log(db: Path) -> list[str]:
    """Every insert into the journal since install_journal_log."""
    return journal_students(db, "test_journal_log")


def journal_count(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM nb74_judge_runs").fetchone()[0]
    finally:
        con.close()


LOCAL_STATE = (".git", ".venv", "build", "submitted", "autograded", "feedback", "gradebook.db", "reports")


def copy_kit(dest: Path) -> Path:
    """This kit as committed, without its local state: the course's own folders (feedback/,
    reports/, …) at the top only, since autograder/ has folders of those names too."""

    def ignore(folder: str, names: list[str]) -> list[str]:
        top = Path(folder) == ROOT
        return [n for n in names if n == "__pycache__" or (top and n in LOCAL_STATE)]

    shutil.copytree(ROOT, dest, symlinks=True, ignore=ignore)
    return dest
