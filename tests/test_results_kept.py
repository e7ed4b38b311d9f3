"""Every gradebook route keeps the judge's full results beside the scores (issue 13, item 1).

The batch and `nbgrader autograde` (SaveJudgeGrades) write each submission's results into the
kit's journal in the same transaction as its scores: the results agree with the scores the
gradebook shows; a failure while recording leaves neither; an older journal without the column
is migrated and its submissions graded again.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from autograder.results import Results
from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook
from tests.bugs.catalog import BUGS
from tests.course import NB, A, add_students, batch, copy_course, db_url, make_course, nbgrader, place
from tests.nb74 import NB74
from tests.submissions import make_submission

TRANSPOSED = next(e for e in BUGS if e.name == "linear_dW_transposed")
STUDENTS = ["correct", "dw_transposed", "not_json"]


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = make_course(tmp_path_factory.mktemp("results-kept") / "course")
    add_students(course, STUDENTS)
    place(course, "correct", make_submission(course / "ok.ipynb"))
    place(course, "dw_transposed", make_submission(course / "t.ipynb", {TRANSPOSED.cell: TRANSPOSED.source}))
    place(course, "not_json", b"{ this is not a notebook")
    return course


def kept(course: Path) -> tuple[dict[str, Results], dict[str, dict[str, float]], dict[str, str]]:
    """The journal's results, the gradebook's auto scores per test cell, and each row's route."""
    with JudgeGradebook(db_url(course)) as book:
        results = book.judge_results(A)
        scores = {
            sub.student_id: {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades}
            for sub in book.gb.assignment_submissions(A)
        }
    with sqlite3.connect(course / "gradebook.db") as db:
        routes = dict(db.execute("SELECT student, route FROM nb74_judge_runs"))
    return results, scores, routes


def agree(results: Results, scores: dict[str, float], rubric: Any) -> None:
    got = results.part_scores()
    for part in rubric.parts.values():
        assert scores[part.test_cell] == pytest.approx(min(round(got.get(part.name, 0.0), 6), part.points))


@pytest.mark.parametrize("route", ["batch", "nbgrader"])
def test_every_route_keeps_the_results_with_the_scores(course: Path, tmp_path: Path, route: str) -> None:

    c = copy_course(course, tmp_path / "c")
    if route == "batch":
        batch(c, "--workers", "2", check=False)
    else:
        nbgrader(c, "autograde", A)
    results, scores, routes = kept(c)
    assert sorted(results) == STUDENTS and set(routes.values()) == {route}
    for student in STUDENTS:
        agree(results[student], scores[student], NB74.rubric)
    assert any(d.code == "transposed" for d in results["dw_transposed"].diagnoses)
    refused = results["not_json"]  # nbgrader grades the release in its place: refused too
    assert any("JSON" in m for m in refused.messages()), refused.messages()
    assert refused.refused and refused.score == 0
    assert results["correct"].score == results["correct"].max_score and results["correct"].confinement.level
    assert all(not r.pictures for r in results.values())  # the report needs none; feedback has them


def test_a_failure_while_recording_keeps_neither_scores_nor_results(course: Path, tmp_path: Path) -> None:
    """SaveJudgeGrades commits once: if writing the results fails after the cells were scored,
    the scores of this submission are rolled back too."""
    from nbformat import read

    from autograder.routes.nbgrader_hooks.preprocessors.save_judge_grades import SaveJudgeGrades

    c = copy_course(course, tmp_path / "c")
    nbgrader(c, "autograde", A)
    before = kept(c)
    nb = read(c / "autograded" / "dw_transposed" / A / NB, as_version=4)
    for cell in nb.cells:  # as if this run had scored every test cell 0
        for out in cell.get("outputs", []):
            if out.get("output_type") == "execute_result":
                out["data"]["text/plain"] = "0.0"
    info = {"notebook": NB.removesuffix(".ipynb"), "assignment": A, "student": "dw_transposed"}
    info |= {"db_url": db_url(c), "judge_results": {"score": 0}, "judge_sha256": "x" * 64}  # no "tests": raises
    with pytest.raises(KeyError):
        SaveJudgeGrades().preprocess(nb, {"nbgrader": info})
    assert kept(c) == before


def test_an_older_journal_is_migrated_and_its_submissions_graded_again(course: Path, tmp_path: Path) -> None:
    c = copy_course(course, tmp_path / "c")
    batch(c, "--workers", "2", check=False)
    with sqlite3.connect(c / "gradebook.db") as db:  # the journal as it was before it kept results
        db.executescript(
            "CREATE TABLE old AS SELECT assignment, student, sha256, score FROM nb74_judge_runs;"
            "DROP TABLE nb74_judge_runs; ALTER TABLE old RENAME TO nb74_judge_runs;"
        )
    done = batch(c, "--workers", "2", check=False)
    assert re.search(r"今回採点\s+3\b", done.stdout), done.stdout
    results, scores, routes = kept(c)
    assert sorted(results) == STUDENTS and set(routes.values()) == {"batch"}
