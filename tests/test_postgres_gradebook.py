"""The gradebook on a real PostgreSQL server equals the one on SQLite, by every route.

One class of five submissions (the solution, two bugs of tests/bugs/catalog.py, a Linear.backward
that never returns, a file that is not JSON), each with its timestamp.txt, is graded into SQLite
(the course's gradebook.db) and into a fresh database of the session's PostgreSQL server
(tests/postgres.py: initdb in a temporary folder, a Unix socket only):

- `python -m autograder batch A --db-url postgresql+psycopg2://...`: the batch's snapshot (scores,
  comments, content hashes), the autograded notebooks, the feedback and `nbgrader export`'s CSV
  equal the SQLite run's;
- the batch SIGKILLed (its coordinator only) as soon as PostgreSQL holds the first recorded
  submission, then run again: it grades exactly what was not committed, and the gradebook equals
  the uninterrupted SQLite run's; a PL/pgSQL trigger on the journal shows each submission was
  recorded once; no process of the killed run survives;
- the real `nbgrader generate_assignment`, `db student import`, `autograde` and `export` with
  `--CourseDirectory.db_url=<postgres>`: the same CSV and snapshot as those commands on SQLite.

The PostgreSQL courses hold no gradebook.db at all: a route that ignored the URL would fail here.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.batch_run import (
    HANG,
    batch_cmd,
    batch_env,
    course_processes,
    keys,
    marked_workspace,
    parse_summary,
    refused_exit,
    sigkill,
    wait_no_processes,
)
from tests.bugs.catalog import BUGS
from tests.course import NB, ROOT, A, add_students, batch, copy_course, make_course, nbgrader, place, submission_dir
from tests.submissions import answer_source, make_submission

pytestmark = pytest.mark.slow

BUG = {b.name: b for b in BUGS}
SIGMOID = answer_source("sigmoid")
# student -> answer cells replaced in the solution, or "notjson"
SUBMISSIONS: dict[str, Any] = {
    "a00-hang": {"linear": HANG},  # first: holds a worker ~5 s, so a kill after the first commit is mid-run
    "b01-ok": {},
    "c02-linear-dw": {"linear": BUG["linear_dW_transposed"].source},
    "c03-mse-seed": {"mse": BUG["mse_seed_2_over_N"].source},
    "e04-notjson": "notjson",
    # PostgreSQL refuses NUL in text (SQLite stores it): the judge's comment quoting this exception
    # must reach the gradebook without it; and a student id in Japanese (UTF-8 in both databases)
    "f05-nul": {
        "sigmoid": SIGMOID.replace(
            "        y = self.cache", "        raise ValueError('ヌル\\x00文字\\x1b[31m')\n        y = self.cache", 1
        )
    },
    "g06-山田": {},
}
assert SUBMISSIONS["f05-nul"]["sigmoid"] != SIGMOID  # the replace() matched
STUDENTS = sorted(SUBMISSIONS)
TIMESTAMP = "2024-06-01 10:00:00.000000 UTC"
WORKERS = "2"


# -- courses ---------------------------------------------------------------------------------------


def place_submissions(course: Path) -> None:
    for i, (student, spec) in enumerate(SUBMISSIONS.items()):
        stamp = TIMESTAMP.replace("10:00:00", f"10:{i:02d}:00")  # distinct, so export shows each was kept
        if spec == "notjson":
            place(course, student, "これはノートブックではありません {\n".encode(), timestamp=stamp)
        else:
            place(course, student, None, timestamp=stamp)
            make_submission(submission_dir(course, student) / NB, spec)


# Every course imports the roster (`nbgrader db student import`): nbgrader's export orders students
# by (last name, first name), so students the batch adds without names would come out in whatever
# order each database returns ties (seen: PostgreSQL and SQLite differ), and the CSVs would differ
# by row order only.


def postgres_course(pristine: Path, dest: Path, url: str) -> Path:
    """source/ and submitted/ of the pristine course, released into the PostgreSQL database by
    `nbgrader generate_assignment` (which writes release/ and the notebook's cells into the
    gradebook), and the roster imported."""
    for folder in ("source", "submitted"):
        shutil.copytree(pristine / folder, dest / folder)
    (dest / "tmp").mkdir()
    nbgrader(dest, "generate_assignment", A, db_url=url)
    add_students(dest, STUDENTS, db_url=url)
    return dest


def sqlite_course(pristine: Path, dest: Path) -> Path:
    course = copy_course(pristine, dest)  # gradebook.db as released by generate_assignment, and the roster
    (course / "tmp").mkdir()
    add_students(course, STUDENTS)
    return course


def snapshot(url: str) -> dict[str, Any]:
    from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook

    with JudgeGradebook(url) as book:
        return book.snapshot(A)


def export_csv(course: Path, url: str | None = None) -> str:
    nbgrader(course, "export", f"--to={course / 'grades.csv'}", db_url=url)
    return (course / "grades.csv").read_text(encoding="utf-8")


def class_report(course: Path, url: str) -> dict[str, str]:
    """The class report's tables (its page also shows the URL and the time: not compared)."""
    from autograder.reports.page import write_report

    page = write_report(url, A, course / "class-report", progress=False)
    return {p.name: p.read_text(encoding="utf-8-sig") for p in sorted(page.parent.glob("*.csv"))}


def files(course: Path, folder: str) -> dict[str, str]:
    base = course / folder
    return {str(p.relative_to(base)): p.read_text(encoding="utf-8") for p in sorted(base.rglob("*")) if p.is_file()}


def run_batch(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = batch(course, "--workers", WORKERS, *args, check=False)
    assert done.returncode == refused_exit(done.stdout), f"batch failed:\n{done.stdout}\n{done.stderr}"
    return done


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Iterator[Path]:
    yield from marked_workspace(tmp_path_factory, "nb74pg")


@pytest.fixture(scope="module")
def pristine(workspace) -> Path:
    """Released with `nbgrader generate_assignment` into SQLite, the submissions in place."""
    course = make_course(workspace / "pristine")
    place_submissions(course)
    return course


@pytest.fixture(scope="module")
def sqlite_batch(pristine, workspace) -> dict[str, Any]:
    """The reference: one uninterrupted batch into SQLite, then `nbgrader export`."""
    course = sqlite_course(pristine, workspace / "sqlite-batch")
    t0 = time.monotonic()
    run_batch(course)
    print(f"\nbatch into SQLite, {len(STUDENTS)} submissions with feedback: {time.monotonic() - t0:.1f} s")
    url = f"sqlite:///{course / 'gradebook.db'}"
    return {
        "course": course,
        "snapshot": snapshot(url),
        "csv": export_csv(course),
        "autograded": files(course, "autograded"),
        "feedback": files(course, "feedback"),
        "report": class_report(course, url),
    }


# -- tests -----------------------------------------------------------------------------------------


def test_the_reference_tells_submissions_apart(sqlite_batch):
    """Guards the comparisons below: gradebooks where every student looks alike prove little."""
    snap = sqlite_batch["snapshot"]
    assert sorted(snap) == STUDENTS
    totals = {s: sum(g[1] for g in row["grades"]) for s, row in snap.items()}
    assert totals["b01-ok"] == 100
    assert 0 < totals["c02-linear-dw"] < 100 and 0 < totals["c03-mse-seed"] < 100
    assert totals["c02-linear-dw"] != totals["c03-mse-seed"]
    assert totals["a00-hang"] < 100 and totals["e04-notjson"] == 0
    assert all(row["sha256"] for row in snap.values())
    assert any("JSON" in c for _, c in snap["e04-notjson"]["comments"])
    quoted = [c for _, c in snap["f05-nul"]["comments"] if "ヌル" in c]
    assert quoted and not any("\x00" in c or "\x1b" in c for c in quoted), quoted
    assert snap["g06-山田"] == {**snap["b01-ok"], "sha256": snap["g06-山田"]["sha256"]}
    rows = list(csv.DictReader(sqlite_batch["csv"].splitlines()))
    assert sorted(r["student_id"] for r in rows if r["assignment"] == A) == STUDENTS
    assert sum(k.endswith(".ipynb") for k in sqlite_batch["autograded"]) == len(STUDENTS)
    assert sum(k.endswith(".html") for k in sqlite_batch["feedback"]) == len(STUDENTS)


def test_batch_into_postgres_equals_sqlite(postgres, pristine, workspace, sqlite_batch):
    url = postgres.create_database()
    course = postgres_course(pristine, workspace / "pg-batch", url)
    t0 = time.monotonic()
    done = run_batch(course, "--db-url", url)
    print(f"\nbatch into PostgreSQL, {len(STUDENTS)} submissions with feedback: {time.monotonic() - t0:.1f} s")
    assert parse_summary(done.stdout) == {"submissions": len(STUDENTS), "graded": len(STUDENTS), "skipped": 0}
    assert not (course / "gradebook.db").exists()  # everything went to PostgreSQL
    assert snapshot(url) == sqlite_batch["snapshot"]
    assert export_csv(course, url) == sqlite_batch["csv"]
    assert files(course, "autograded") == sqlite_batch["autograded"]
    assert files(course, "feedback") == sqlite_batch["feedback"]
    assert class_report(course, url) == sqlite_batch["report"]

    # a second run finds every content hash in PostgreSQL's journal
    again = run_batch(course, "--db-url", url, "--no-feedback")
    assert parse_summary(again.stdout) == {"submissions": len(STUDENTS), "graded": 0, "skipped": len(STUDENTS)}


JOURNAL_LOG = """
CREATE TABLE test_journal_log (student TEXT NOT NULL, sha256 TEXT NOT NULL);
CREATE FUNCTION test_journal_log_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO test_journal_log VALUES (NEW.student, NEW.sha256); RETURN NEW; END $$;
CREATE TRIGGER test_journal_log_insert AFTER INSERT ON nb74_judge_runs
FOR EACH ROW EXECUTE FUNCTION test_journal_log_insert();
"""


def test_sigkill_after_the_first_commit_then_resume_equals_sqlite(postgres, pristine, workspace, sqlite_batch):
    url = postgres.create_database()
    course = postgres_course(pristine, workspace / "pg-killed", url)
    snapshot(url)  # creates nb74_judge_runs beside nbgrader's tables, for the trigger
    engine = create_engine(url)
    try:
        with engine.begin() as con:
            con.execute(text(JOURNAL_LOG))

        def committed() -> int:
            with engine.connect() as con:
                return int(con.execute(text("SELECT count(*) FROM nb74_judge_runs")).scalar_one())

        def logged() -> list[str]:
            with engine.connect() as con:
                return sorted(s for (s,) in con.execute(text("SELECT student FROM test_journal_log")))

        cmd = [*batch_cmd(course), "--db-url", url]  # --workers 2 --no-feedback --no-progress
        with (course / "killed.out").open("wb") as out:  # a file, not a pipe: see test_batch_resume
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=batch_env(course), stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        started, seen = time.monotonic(), 0
        try:
            while seen == 0 and proc.poll() is None and time.monotonic() - started < 120:
                seen = committed()
                time.sleep(0.02)
            alive = course_processes(workspace.name)
        finally:
            sigkill(proc)
        at = time.monotonic() - started
        left = wait_no_processes(workspace.name, keys(alive))
        assert left == [], "still running after SIGKILL:\n" + "\n".join(left)
        n, kept = len(STUDENTS), committed()
        print(f"\nSIGKILL at {at:.1f} s, {kept}/{n} committed in PostgreSQL")
        assert seen >= 1, (course / "killed.out").read_text(encoding="utf-8")
        assert 1 <= kept < n, f"{kept}/{n} committed: the kill came too late to interrupt anything"
        assert logged() == sorted(snapshot(url))  # what is committed is whole: scores with hashes

        done = run_batch(course, "--db-url", url, "--no-feedback")
        assert parse_summary(done.stdout) == {"submissions": n, "graded": n - kept, "skipped": kept}
        assert snapshot(url) == sqlite_batch["snapshot"]
        assert logged() == STUDENTS  # each recorded exactly once over both runs
        assert files(course, "autograded") == sqlite_batch["autograded"]
        assert export_csv(course, url) == sqlite_batch["csv"]
        assert wait_no_processes(workspace.name) == []
    finally:
        engine.dispose()


def test_nbgrader_autograde_and_export_on_postgres_equal_sqlite(postgres, pristine, workspace):
    """The real nbgrader commands, the kit's preprocessors inside them, on each database (the two
    autogrades at the same time: each grades one notebook at a time)."""

    def autograde(course: Path, url: str | None = None) -> float:
        t0 = time.monotonic()
        nbgrader(course, "autograde", A, db_url=url)
        return time.monotonic() - t0

    lite = sqlite_course(pristine, workspace / "sqlite-nbgrader")
    with ThreadPoolExecutor(1) as pool:
        lite_run = pool.submit(autograde, lite)
        url = postgres.create_database()
        pg = postgres_course(pristine, workspace / "pg-nbgrader", url)
        pg_seconds = autograde(pg, url)
        lite_seconds = lite_run.result()
    print(
        f"\nnbgrader autograde, {len(STUDENTS)} submissions: SQLite {lite_seconds:.1f} s, PostgreSQL {pg_seconds:.1f} s"
    )
    assert not (pg / "gradebook.db").exists()

    lite_csv, pg_csv = export_csv(lite), export_csv(pg, url)
    assert pg_csv == lite_csv
    rows = {r["student_id"]: r for r in csv.DictReader(pg_csv.splitlines()) if r["assignment"] == A}
    assert sorted(rows) == STUDENTS and float(rows["b01-ok"]["score"]) == 100.0
    assert snapshot(url) == snapshot(f"sqlite:///{lite / 'gradebook.db'}")
    assert files(pg, "autograded") == files(lite, "autograded")
    assert class_report(pg, url) == class_report(lite, f"sqlite:///{lite / 'gradebook.db'}")


def test_the_batch_defaults_to_the_gradebook_nbgrader_config_names(tmp_path):
    """`batch` without --db-url on the config's own course writes where nbgrader does: an instructor
    who set CourseDirectory.db_url to PostgreSQL gets one gradebook, not a stray gradebook.db."""
    from autograder.routes.nbgrader_hooks.glue import CONFIG, configured_db_url

    url = "postgresql+psycopg2://nb74@/nb74_gradebook?host=/var/run/postgresql"
    config = tmp_path / "nbgrader_config.py"
    config.write_text(
        "import os\nc = get_config()\nHERE = os.path.dirname(os.path.abspath(__file__))\n"
        f"c.CourseDirectory.root = HERE\nc.CourseDirectory.db_url = {url!r}\n",
        encoding="utf-8",
    )
    assert configured_db_url(tmp_path, config) == url
    assert configured_db_url(tmp_path / "other", config) == f"sqlite:///{tmp_path / 'other' / 'gradebook.db'}"
    # the committed config: SQLite beside it, as before
    assert configured_db_url(CONFIG.parent) == f"sqlite:///{CONFIG.parent / 'gradebook.db'}"
