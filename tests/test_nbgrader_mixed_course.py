"""A course with the judge's assignment and an ordinary nbgrader assignment, through the real CLI.

The judge grades only the assignments it has graders for (autograder.course.assignment.judged);
every other one is autograded by nbgrader's own Execute and SaveAutoGrades, as without the kit
(autograder/routes/nbgrader_hooks/preprocessors/plain.py). One gradebook holds both; `nbgrader
export` lists both; `nbgrader generate_feedback` makes both pages.
"""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder.course.assignment import judged
from tests.course import NB, RUBRIC, A, add_students, make_course, nbgrader, place
from tests.submissions import RELEASE, SOLUTION

pytestmark = pytest.mark.slow

PLAIN = "plain_double"  # an ordinary nbgrader assignment: no graders of the kit's
PLAIN_NB = "double.ipynb"
ANSWER = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
TEST = "assert double(3) == 6"
RIGHT = "def double(x):\n    return 2 * x"
WRONG = "def double(x):\n    return x + 1"


def nbgrader_cell(kind: str, source: str, **meta: object) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, **meta}
    return cell


def plain_source() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 2 倍する関数\n\n`double(x)` を書いてください。"),
        nbgrader_cell("code", ANSWER, grade=False, grade_id="double", locked=False, solution=True),
        nbgrader_cell("code", TEST, grade=True, grade_id="test_double", locked=True, points=2, solution=False),
    ]
    return nb


def plain_submission(answer: str, path: Path) -> None:
    """The released plain notebook with the answer cell written."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "double":
            cell["source"] = answer
    path.write_text(json.dumps(nb), encoding="utf-8")


def plain_scores(db: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        return {sub.student_id: float(sub.score) for sub in gb.assignment_submissions(PLAIN)}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = make_course(tmp_path_factory.mktemp("mixed") / "course")
    (course / "source" / PLAIN).mkdir(parents=True)
    nbformat.write(plain_source(), course / "source" / PLAIN / PLAIN_NB)
    nbgrader(course, "generate_assignment", PLAIN)
    add_students(course, ["right", "wrong"])
    release = course / "release" / PLAIN / PLAIN_NB
    for student, answer, nb74 in (("right", RIGHT, SOLUTION), ("wrong", WRONG, RELEASE)):
        place(course, student, nb74)
        plain = course / "submitted" / student / PLAIN / PLAIN_NB
        plain.parent.mkdir(parents=True)
        plain.write_bytes(release.read_bytes())
        plain_submission(answer, plain)
        (plain.parent / "timestamp.txt").write_text("2024-06-01 10:00:00.000000 UTC", encoding="utf-8")
    nbgrader(course, "autograde", A)
    nbgrader(course, "autograde", PLAIN)
    nbgrader(course, "generate_feedback", A)
    nbgrader(course, "generate_feedback", PLAIN)
    nbgrader(course, "export", f"--to={course / 'grades.csv'}")
    return course


def test_the_judge_grades_only_its_own_assignment():
    assert judged(A)
    assert not judged(PLAIN)


def test_the_plain_assignment_is_graded_by_nbgraders_execution(course):
    assert plain_scores(course / "gradebook.db") == {"right": 2.0, "wrong": 0.0}
    graded = json.loads((course / "autograded" / "wrong" / PLAIN / PLAIN_NB).read_text(encoding="utf-8"))
    test = next(c for c in graded["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_double")
    assert "".join(test["source"]) == TEST
    assert [o["ename"] for o in test["outputs"] if o["output_type"] == "error"] == ["AssertionError"]


def test_the_judges_assignment_is_still_graded_by_the_judge(course):
    from tests.course import scores

    got = scores(course / "gradebook.db")
    assert got["right"]["_total"] == RUBRIC.max_score
    assert got["wrong"]["_total"] == 0.0
    graded = json.loads((course / "autograded" / "right" / A / NB).read_text(encoding="utf-8"))
    texts = ["".join(o.get("text", "")) for c in graded["cells"] for o in c.get("outputs", [])]
    assert any(t.startswith("採点（ジャッジ）") for t in texts)  # the judge's messages, not a kernel's


def test_one_gradebook_exports_both_assignments(course):
    with (course / "grades.csv").open(encoding="utf-8") as f:
        rows = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(f)}
    assert rows[(PLAIN, "right")] == 2.0 and rows[(PLAIN, "wrong")] == 0.0
    assert rows[(A, "right")] == RUBRIC.max_score and rows[(A, "wrong")] == 0.0


def test_feedback_is_made_for_both_assignments(course):
    page = (course / "feedback" / "wrong" / PLAIN / "double.html").read_text(encoding="utf-8")
    page = html.unescape(re.sub(r"<[^>]+>", "", page))  # the text a reader sees
    assert "得点: 0 / 2" in page
    assert "AssertionError" in page  # nbgrader's feedback: the failed test's error, as without the kit
    assert "assert double(3) == 6" in page
    assert "2 倍する関数" in page  # the assignment's own markdown, rendered
    assert (course / "feedback" / "right" / PLAIN / "double.html").is_file()
    assert (course / "feedback" / "right" / A / NB.replace(".ipynb", ".html")).is_file()
