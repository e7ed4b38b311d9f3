"""The instructor's source notebook (solutions + hidden tests) runs clean top to bottom in a real kernel."""

from __future__ import annotations

import pytest

from tests.nb74 import NB74

RUBRIC = NB74.rubric
TEST_CELLS = [p.test_cell for p in RUBRIC.parts.values()]
PASS_MESSAGE = "全パラメータで勾配チェックに合格しました"


def grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def label(i: int, cell) -> str:
    return f"cell {i} ({grade_id(cell) or 'no grade_id'})"


def stream_text(cell, name: str) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == name)


@pytest.fixture(scope="module")
def executed(execute_notebook, repo_root):
    # allow_errors=True so that every failing cell is reported, not only the first one
    return execute_notebook(NB74.source(repo_root), allow_errors=True)


@pytest.fixture(scope="module")
def by_id(executed) -> dict:
    return {grade_id(c): c for c in executed.cells if grade_id(c)}


def test_every_code_cell_ran_without_error(executed):
    code = [(i, c) for i, c in enumerate(executed.cells) if c.cell_type == "code"]
    assert code, "no code cells"
    not_run = [label(i, c) for i, c in code if c.get("execution_count") is None]
    errors = [f"{label(i, c)}: {o.ename}: {o.evalue}" for i, c in code for o in c.outputs if o.output_type == "error"]
    assert not not_run, f"cells not executed: {not_run}"
    assert not errors, "cells raised:\n" + "\n".join(errors)


def test_no_stderr_output_anywhere(executed):
    # the seed silenced warnings globally; the source must simply not emit any (overflow etc.)
    stderr = {
        label(i, c): stream_text(c, "stderr")
        for i, c in enumerate(executed.cells)
        if c.cell_type == "code" and stream_text(c, "stderr")
    }
    assert not stderr, f"stderr output: {stderr}"


@pytest.mark.parametrize("test_cell", TEST_CELLS)
def test_test_cell_passes_its_visible_test(by_id, test_cell):
    cell = by_id.get(test_cell)
    assert cell is not None, f"test cell {test_cell} missing from the source notebook"
    # one truth for hidden tests: they are the graders (autograder/graders/), never in the notebook
    assert "HIDDEN TESTS" not in cell.source, f"{test_cell} holds hidden tests the judge would never run"
    assert cell.get("execution_count") is not None, f"{test_cell} did not run"
    errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"{test_cell} failed: {errors}"
    assert "可視テストに合格しました" in stream_text(cell, "stdout"), f"{test_cell} printed no success line"


@pytest.mark.parametrize("exercise", ["exercise_8_1", "exercise_8_2"])
def test_exercise_gradient_check_passes(by_id, exercise):
    out = stream_text(by_id[exercise], "stdout")
    assert PASS_MESSAGE in out, f"{exercise} output:\n{out}"
    assert "✗ NG" not in out and "警告" not in out, f"{exercise} output:\n{out}"


def test_plot_cell_draws_an_image(executed):
    # the activation plot (Japanese title and labels) renders inline; its glyph warnings would be stderr
    plots = [c for c in executed.cells if c.cell_type == "code" and "活性化関数の比較" in c.source]
    assert len(plots) == 1, "expected exactly one activation plot cell"
    assert any("image/png" in o.get("data", {}) for o in plots[0].outputs), "plot cell produced no PNG"
