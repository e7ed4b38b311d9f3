"""The instructor's route through real nbgrader, end to end, in a temporary course folder.

generate_assignment from the committed source, `nbgrader db student add`, two submissions in
submitted/<student>/<assignment>/, one `nbgrader autograde` over both, scores read back through
nbgrader.api.Gradebook. Whatever nbgrader_config.py routes scoring through (the judge) is used,
because every command runs from the repository root with only the course root and database moved.
"""

from __future__ import annotations

import shutil

import pytest

from autograder.course.assignment import ROOT
from autograder.tools.build import run_nbgrader
from tests.course import make_course
from tests.nb74 import NB74

RUBRIC = NB74.rubric
A, NB = RUBRIC.assignment, f"{RUBRIC.notebook}.ipynb"
SUBMISSIONS = {
    "solution": ROOT / "solutions" / A / NB,  # solution code in, hidden tests out (restored by nbgrader)
    "untouched": ROOT / "release" / A / NB,  # every answer cell still a stub
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def grades(tmp_path_factory) -> dict[str, dict[str, tuple[float, float]]]:
    """{student: {grade_id: (score, max_score)}} plus each student's '_total'."""
    course = tmp_path_factory.mktemp("course")
    make_course(course)  # nbgrader generate_assignment (once per run: tests/course.py)
    for student, notebook in SUBMISSIONS.items():
        run_nbgrader(["db", "student", "add", student], course)
        dst = course / "submitted" / student / A / NB
        dst.parent.mkdir(parents=True)
        shutil.copy(notebook, dst)
    run_nbgrader(["autograde", A], course)

    from nbgrader.api import Gradebook  # 2 s to import: only here

    out: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in SUBMISSIONS:
            sub = gb.find_submission(A, student)
            out[student] = {g.name: (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades}
            out[student]["_total"] = (sub.score, sub.max_score)
    return out


def test_every_rubric_part_is_a_graded_cell(grades):
    for student, by_cell in grades.items():
        assert set(by_cell) - {"_total"} == {p.test_cell for p in RUBRIC.parts.values()}, student
        assert by_cell["_total"][1] == RUBRIC.max_score


@pytest.mark.parametrize("part", list(RUBRIC.parts))
def test_solution_gets_full_marks_per_part(grades, part):
    p = RUBRIC.parts[part]
    assert grades["solution"][p.test_cell] == (p.points, p.points)


def test_solution_gets_full_total(grades):
    assert grades["solution"]["_total"] == (RUBRIC.max_score, RUBRIC.max_score) == (100.0, 100.0)


@pytest.mark.parametrize("part", list(RUBRIC.parts))
def test_untouched_release_gets_zero_per_part(grades, part):
    p = RUBRIC.parts[part]
    assert grades["untouched"][p.test_cell] == (0.0, p.points)


def test_untouched_release_gets_zero_total(grades):
    assert grades["untouched"]["_total"] == (0.0, RUBRIC.max_score)


def test_demo_examples_still_apply_to_the_source():
    # `make demo` builds its buggy submissions by editing the solution; fail here, not in the demo
    from autograder.tools.demo import example_submissions, solution_cells

    source = ROOT / "source" / A / NB
    sol = solution_cells(source, RUBRIC)
    assert set(sol) == set(RUBRIC.answer_cells)
    assert not any("SOLUTION" in code for code in sol.values())
    examples = {ex.student: ex for ex in example_submissions(NB74)}
    assert examples["full"].answers == sol and examples["untouched"].answers == {}
    for student, cell in [("mse_2_over_n", "mse"), ("linear_dW_T", "linear")]:
        changed = {k for k, v in examples[student].answers.items() if v != sol[k]}
        assert changed == {cell}, student
