"""The kit's nbgrader preprocessors and hooks on in-memory notebooks, as nbgrader tests its own
(nbgrader/tests/preprocessors/: build a NotebookNode, run `preprocess(nb, resources)`, assert).

The end-to-end tests (test_nbgrader_e2e.py, test_feedback_layout.py, ...) run them inside real
`nbgrader autograde` / `generate_feedback`; these pin each one's own contract, quickly:
StripSolutionMarkers, JudgeScores (with the judge's real results for the solution, graded once per
run), SanitizeFeedback, and prepare_submission (nbgrader's pre_convert_hook) on a folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.intake.read import NOTES_FILE
from autograder.results import Results
from autograder.routes.nbgrader_hooks.pre_convert import prepare_submission
from autograder.routes.nbgrader_hooks.preprocessors.judge_scores import JudgeScores
from autograder.routes.nbgrader_hooks.preprocessors.sanitize_feedback import SanitizeFeedback, without_pass_prints
from autograder.routes.nbgrader_hooks.preprocessors.strip_solution_markers import StripSolutionMarkers
from tests.nb74 import NB74

RUBRIC = NB74.rubric


def grade_cell(source: str, grade_id: str, points: float = 1.0, **outputs: object) -> nbformat.NotebookNode:
    """A test cell as nbgrader's generate_assignment leaves it (grade, locked, not a solution)."""
    cell = new_code_cell(source)
    cell.metadata.nbgrader = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": grade_id,
        "points": points,
        "schema_version": 3,
    }
    return cell


# --- StripSolutionMarkers ------------------------------------------------------------------------


def test_strip_solution_markers_keeps_the_code_between_them():
    cell = new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n")
    nb = new_notebook(cells=[cell])
    nb, _ = StripSolutionMarkers().preprocess(nb, {})
    assert nb.cells[0].source == "def f(x):\n    return x + 1\n"


def test_strip_solution_markers_leaves_other_cells_alone():
    text = "# a hidden test\n### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS"
    nb = new_notebook(cells=[new_code_cell(text), new_markdown_cell("BEGIN は説明の言葉")])
    nb, _ = StripSolutionMarkers().preprocess(nb, {})
    assert [c.source for c in nb.cells] == [text, "BEGIN は説明の言葉"]


def test_strip_solution_markers_takes_configured_delimiters():
    pre = StripSolutionMarkers(begin_solution_delimeter="START ANSWER", end_solution_delimeter="STOP ANSWER")
    nb = new_notebook(cells=[new_code_cell("# START ANSWER\nx = 1\n# STOP ANSWER\n### END SOLUTION")])
    nb, _ = pre.preprocess(nb, {})
    assert nb.cells[0].source == "x = 1\n### END SOLUTION"


# --- JudgeScores ---------------------------------------------------------------------------------


@pytest.fixture
def judged(solution_results, monkeypatch):
    """JudgeScores run in memory on the instructor's notebook (solutions and hidden tests, as
    nbgrader hands it over after restoring the test cells), the judge's verdict being its real one
    for the solution (graded once per run: the solution_results fixture)."""
    import autograder.judge.grade

    seen = []

    def grade(nb, assignment, isolation="auto"):
        assert assignment == NB74  # the assignment nbgrader's resources name (none: the kit's only one)
        seen.append((nbformat.writes(nb), isolation))
        return Results.from_dict(solution_results)

    monkeypatch.setattr(autograder.judge.grade, "grade", grade)
    nb = nbformat.read(NB74.source(), as_version=4)
    sent = nbformat.writes(nb)
    nb, resources = JudgeScores(isolation="process").preprocess(nb, {})
    return nb, resources, seen, sent


def test_judge_scores_hands_the_whole_notebook_to_the_judge_with_the_configured_isolation(judged):
    _, _, seen, sent = judged
    assert seen == [(sent, "process")]


def test_judge_scores_writes_each_test_cells_score_as_a_plain_float(judged):
    nb, _, _, _ = judged
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for part in RUBRIC.parts.values():
        outputs = by_id[part.test_cell].outputs
        assert outputs[0].output_type == "stream" and outputs[0].name == "stdout"
        assert outputs[-1].output_type == "execute_result"
        assert float(outputs[-1].data["text/plain"]) == pytest.approx(part.points), (
            part.name
        )  # determine_grade's float()


def test_judge_scores_removes_hidden_tests_and_keeps_the_results_for_the_journal(judged, solution_results):
    nb, resources, _, _ = judged  # the source holds none (tools/build.py refuses them): plant one
    planted = nbformat.read(NB74.source(), as_version=4)
    cell = next(c for c in planted.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_linear")
    cell.source += "\n### BEGIN HIDDEN TESTS\nassert False\n### END HIDDEN TESTS"
    cleared, _ = JudgeScores(isolation="process").preprocess(planted, {})
    assert not any("HIDDEN TESTS" in c.source or "assert False" in c.source for c in cleared.cells)
    info = resources["nbgrader"]
    assert Results.from_dict(info["judge_results"]).score == solution_results["score"] == RUBRIC.max_score
    assert len(info["judge_sha256"]) == 64 and int(info["judge_sha256"], 16) >= 0


# --- SanitizeFeedback ----------------------------------------------------------------------------


def feedback_notebook() -> nbformat.NotebookNode:
    test = grade_cell('check_linear(Linear)\nprint("✓ Linear.backward: 可視テストに合格しました")', "test_linear", 10)
    test.metadata.nbgrader["score"] = 3.5
    test.outputs = [
        new_output("stream", name="stdout", text="Linear: dW の形状が違います"),
        new_output("execute_result", data={"text/plain": "3.5"}, execution_count=1),
        new_output("display_data", data={"text/html": "<script>alert(1)</script>"}),
    ]
    answer = new_code_cell("class Linear: ...")
    answer.metadata.nbgrader = {"grade": False, "solution": True, "locked": False, "grade_id": "linear"}
    answer.outputs = [new_output("execute_result", data={"text/plain": "1"}, execution_count=1)]
    note = new_markdown_cell('<img src=x onerror="alert(1)">メモ')
    return new_notebook(cells=[note, answer, test])


def test_sanitize_feedback_drops_the_bare_score_and_the_pass_print_of_a_test_cell():
    nb, _ = SanitizeFeedback().preprocess(feedback_notebook(), {"nbgrader": {}})
    test = nb.cells[2]
    assert [o.output_type for o in test.outputs] == ["stream"]
    assert test.outputs[0].text == "Linear: dW の形状が違います"
    assert test.source == "check_linear(Linear)" == without_pass_prints(feedback_notebook().cells[2].source)
    assert test.metadata.nbgrader["score"] == 3.5  # the gradebook's score, kept for the template


def test_sanitize_feedback_makes_student_markup_inert():
    nb, _ = SanitizeFeedback().preprocess(feedback_notebook(), {"nbgrader": {}})
    assert "メモ" in nb.cells[0].source and "onerror" not in nb.cells[0].source and "alert" not in nb.cells[0].source
    assert not any("text/html" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_sanitize_feedback_without_comments_needs_no_gradebook():
    # no cell has a comment: the preprocessor must not open resources["nbgrader"]["db_url"]
    nb, resources = SanitizeFeedback().preprocess(feedback_notebook(), {"nbgrader": {}})
    assert resources == {"nbgrader": {}} and len(nb.cells) == 3


# --- prepare_submission (Autograde.pre_convert_hook) ----------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """submitted/<student>/<assignment>/ of a course (the hook finds the course root above it)."""
    f = tmp_path / "course" / "submitted" / "s1" / RUBRIC.assignment
    f.mkdir(parents=True)
    return f


def notes(folder: Path) -> list[str]:
    path = folder / NOTES_FILE
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_prepare_submission_renames_the_only_notebook_to_the_released_name(folder):
    other = folder / "my answers.ipynb"
    nbformat.write(new_notebook(), other)
    listed = [str(other)]
    prepare_submission(RUBRIC.assignment, "s1", listed)
    expected = folder / f"{RUBRIC.notebook}.ipynb"
    assert expected.is_file() and not other.exists()
    assert listed == [str(expected)]
    assert len(notes(folder)) == 1 and "my answers.ipynb" in notes(folder)[0]


def test_prepare_submission_leaves_a_well_named_submission_untouched(folder):
    nb = folder / f"{RUBRIC.notebook}.ipynb"
    nbformat.write(new_notebook(), nb)
    (folder / "timestamp.txt").write_text("2024-06-01 10:00:00.000000 UTC", encoding="utf-8")
    before = sorted(os.listdir(folder))
    listed = [str(nb)]
    prepare_submission(RUBRIC.assignment, "s1", listed)
    assert sorted(os.listdir(folder)) == before and listed == [str(nb)] and notes(folder) == []


def test_prepare_submission_removes_a_timestamp_that_is_not_a_date(folder):
    nb = folder / f"{RUBRIC.notebook}.ipynb"
    nbformat.write(new_notebook(), nb)
    (folder / "timestamp.txt").write_text("yesterday, honest", encoding="utf-8")
    prepare_submission(RUBRIC.assignment, "s1", [str(nb)])
    assert not (folder / "timestamp.txt").exists()
    assert len(notes(folder)) == 1


def test_prepare_submission_removes_a_fifo_nbgrader_could_not_copy(folder):
    nb = folder / f"{RUBRIC.notebook}.ipynb"
    nbformat.write(new_notebook(), nb)
    os.mkfifo(folder / "pipe")
    prepare_submission(RUBRIC.assignment, "s1", [str(nb)])
    assert not os.path.lexists(folder / "pipe")
    assert len(notes(folder)) == 1 and "pipe" in notes(folder)[0]


def test_prepare_submission_with_no_notebook_does_nothing(folder):
    (folder / "timestamp.txt").write_text("not a date", encoding="utf-8")
    prepare_submission(RUBRIC.assignment, "s1", [])
    assert (folder / "timestamp.txt").exists() and notes(folder) == []
