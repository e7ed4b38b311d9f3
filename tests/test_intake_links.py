"""Symbolic links in submissions are never followed: `nbgrader collect` (exchange), `nbgrader
autograde` + `generate_feedback`, and `python -m autograder batch`.

A link to source/ or to the solution must score 0 with a clear reason (not 100), and nothing a
link points to (the solution, a grader module, the rubric, the expected-value cache, reference.py,
/etc/passwd) may reach submitted/, autograded/, feedback/ or the gradebook.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT

NOTES_FILE = (
    "nb74_intake_notes.txt"  # autograder.intake.read.NOTES_FILE, spelled out: the test also runs on older commits
)
from tests.course import (  # noqa: E402
    NB,
    RUBRIC,
    A,
    batch,
    comments,
    concurrently,
    copy_course,
    make_course,
    nbgrader,
    place,
    scores,
)
from tests.nb74 import NB74  # noqa: E402
from tests.submissions import SOLUTION, answer_source  # noqa: E402

pytestmark = pytest.mark.slow

STAMP = "2024-06-01 10:00:00.000000 UTC"
try:  # the judge's store of expected values, in its cache folder
    from autograder.graders.expected_store import default_path

    CACHE = default_path()
except ImportError:  # a commit before issue 24: in the package
    CACHE = ROOT / "autograder" / ".cache" / "expected.frames"
EXTRAS = {  # name in the submission -> what it points to
    "checks.py": NB74.graders_dir / "test_linear.py",
    "rubric.toml": NB74.rubric_path,
    "expected.frames": CACHE,
    "reference.py": ROOT / "solutions" / A / "reference.py",
    "passwd.txt": Path("/etc/passwd"),
}
# Bytes found only in a link's target: never in any file the grading routes write.
SECRET_LINES = ["root:x:0:0", "[parts.linear]", "def test_"]
LINKED_NOTEBOOKS = {"source": lambda course: course / "source" / A / NB, "solution": lambda course: SOLUTION}
# a line of the solution's Linear.backward (its comment): the formula x.T @ dout itself is public,
# in the diagnosis cell and messages
SOLUTION_CODE = "(in, N) @ (N, out) = (in, out)"
NO_LINK = "シンボリックリンク"


def inbound(exchange: Path, student: str) -> Path:
    folder = exchange / "dl-nb74" / "inbound" / f"{student}+{A}+{STAMP}+0123abcd"
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text(STAMP, encoding="utf-8")
    return folder


class Run:
    course: Path
    ngcourse: Path
    collect_log: str
    batch: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    r = Run()
    tmp = tmp_path_factory.mktemp("links")
    r.course = course = make_course(tmp / "course")
    exchange = tmp / "exchange"
    # through the exchange: the student's inbound folder holds links
    for what, target in LINKED_NOTEBOOKS.items():
        os.symlink(target(course), inbound(exchange, f"ex-nb-to-{what}") / NB)
    extras = inbound(exchange, "ex-extras")
    shutil.copyfile(SOLUTION, extras / NB)
    for name, target in EXTRAS.items():
        os.symlink(target, extras / name)
    (extras / NOTES_FILE).write_text("偽のメモ\n", encoding="utf-8")  # only collect writes this file
    other = inbound(exchange, "ex-victim")
    shutil.copyfile(SOLUTION, other / NB)
    os.symlink(other, exchange / "dl-nb74" / "inbound" / f"ex-folder-link+{A}+{STAMP}+0123abcd")
    stamped = inbound(exchange, "ex-bad-timestamp")  # anyone can write there: not a date
    shutil.copyfile(SOLUTION, stamped / NB)
    (stamped / "timestamp.txt").write_bytes("来週\xff".encode() + b"\xff")
    exchange.chmod(0o777)
    done = nbgrader(course, "collect", A, f"--Exchange.root={exchange}")
    r.collect_log = done.stdout + done.stderr
    # placed in submitted/ directly (zip_collect, a copy by hand): the graders refuse them too
    for what, target in LINKED_NOTEBOOKS.items():
        os.symlink(target(course), place(course, f"sub-nb-to-{what}", None) / NB)
    folder = place(course, "sub-extras", SOLUTION).parent
    for name, target in EXTRAS.items():
        os.symlink(target, folder / name)
    place(course, "control", SOLUTION)
    r.ngcourse = copy_course(course, tmp / "nbgrader")
    _, r.batch = concurrently(
        lambda: (
            nbgrader(r.ngcourse, "autograde", A, check=False),
            nbgrader(r.ngcourse, "generate_feedback", A, check=False),
        ),
        lambda: batch(course, "--workers", "2", check=False),
    )
    return r


LINK_STUDENTS = [f"{via}-nb-to-{what}" for via in ("ex", "sub") for what in LINKED_NOTEBOOKS] + ["ex-folder-link"]
EXTRA_STUDENTS = ["ex-extras", "sub-extras"]


def routes(run: Run) -> dict[str, Path]:
    return {"batch": run.course, "nbgrader": run.ngcourse}


def test_the_batch_finishes(run):
    # 1: the linked notebooks could not be graded (exit codes: `python -m autograder batch --help`)
    assert run.batch.returncode == 1, run.batch.stderr[-3000:]
    assert "Traceback" not in run.batch.stderr


def test_collect_copies_no_link(run):
    submitted = run.course / "submitted"
    links = [p for p in submitted.rglob("*") if p.is_symlink()]
    assert links and all(p.relative_to(submitted).parts[0].startswith("sub-") for p in links), links
    notes = (submitted / "ex-extras" / A / NOTES_FILE).read_text(encoding="utf-8")
    assert all(name in notes for name in EXTRAS) and NO_LINK in notes and "偽のメモ" not in notes
    for student in ("ex-nb-to-source", "ex-folder-link"):  # the release stands in for what was left out
        assert NO_LINK in (submitted / student / A / NOTES_FILE).read_text(encoding="utf-8")
        assert (submitted / student / A / NB).read_bytes() == (run.course / "release" / A / NB).read_bytes()


@pytest.mark.parametrize("route", ["batch", "nbgrader"])
@pytest.mark.parametrize("student", LINK_STUDENTS)
def test_a_linked_notebook_scores_zero_with_the_reason(run, route, student):
    course = routes(run)[route]
    got = scores(course / "gradebook.db")
    assert got["control"]["_total"] == RUBRIC.max_score
    assert got[student]["_total"] == 0.0
    text = (course / "feedback" / student / A / NB.replace(".ipynb", ".html")).read_text(encoding="utf-8")
    assert NO_LINK in text
    assert SOLUTION_CODE not in text and "BEGIN SOLUTION" not in text
    assert NO_LINK in comments(course / "gradebook.db")[student]


@pytest.mark.parametrize("route", ["batch", "nbgrader"])
@pytest.mark.parametrize("student", EXTRA_STUDENTS)
def test_linked_extra_files_are_not_copied(run, route, student):
    course = routes(run)[route]
    assert scores(course / "gradebook.db")[student]["_total"] == RUBRIC.max_score  # the notebook is fine
    for folder in ("autograded", "feedback"):
        here = course / folder / student / A
        assert here.is_dir(), here
        assert sorted(p.name for p in here.iterdir() if p.name in EXTRAS) == [], (folder, list(here.iterdir()))


@pytest.mark.parametrize("route", ["batch", "nbgrader"])
def test_nothing_a_link_points_to_is_written_anywhere(run, route):
    course = routes(run)[route]
    for student in LINK_STUDENTS + EXTRA_STUDENTS:  # something was written for each, and is checked
        assert (course / "feedback" / student / A / NB.replace(".ipynb", ".html")).is_file(), student
    for folder in ("autograded", "feedback"):
        for path in (course / folder).rglob("*"):
            assert not path.is_symlink(), path
            if path.is_file():
                data = path.read_bytes()
                for line in SECRET_LINES:
                    assert line.encode() not in data, (path, line)
                if path.relative_to(course / folder).parts[0] in LINK_STUDENTS:
                    assert SOLUTION_CODE.encode() not in data, path
    con = sqlite3.connect(course / "gradebook.db")
    try:
        dump = "\n".join(con.iterdump())
    finally:
        con.close()
    for line in SECRET_LINES[:3]:
        assert line not in dump, line
    for student in LINK_STUDENTS:
        assert SOLUTION_CODE not in comments(course / "gradebook.db").get(student, "")
    assert SOLUTION_CODE in answer_source("linear")  # the marker really is solution code


def test_collect_replaces_a_timestamp_that_is_not_a_date(run):
    folder = run.course / "submitted" / "ex-bad-timestamp" / A
    assert (folder / "timestamp.txt").read_text(encoding="utf-8") == STAMP
    assert "timestamp.txt が日時ではなかった" in (folder / NOTES_FILE).read_text(encoding="utf-8")
    for course in routes(run).values():  # nbgrader no longer fails the student on it
        assert scores(course / "gradebook.db")["ex-bad-timestamp"]["_total"] == RUBRIC.max_score


def test_the_one_shot_route_refuses_a_linked_notebook(tmp_path):
    link = tmp_path / "matrix_backprop.ipynb"
    os.symlink(SOLUTION, link)
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(link), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr  # could not be graded: the results say why
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["score"] == 0.0
    assert "シンボリックリンク" in results["output"]
