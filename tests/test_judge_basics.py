"""The judge end to end on the three reference submissions: the solution, the untouched release,
and one with bugs. Scores, determinism, and the Gradescope shape of the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.judge.grade import grade, write_results
from tests.bugs.catalog import BUGS
from tests.judged import grade_notebook, part_scores
from tests.nb74 import NB74
from tests.submissions import RELEASE, SOLUTION, make_submission

RUBRIC = NB74.rubric
BY_NAME = {e.name: e for e in BUGS}


@pytest.fixture(scope="module")
def release_results() -> dict:
    return grade_notebook(RELEASE)


def test_solution_earns_full_points(solution_results):
    assert solution_results["score"] == solution_results["max_score"] == RUBRIC.max_score == 100
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in solution_results["tests"])
    assert part_scores(solution_results) == {p.name: p.points for p in RUBRIC.parts.values()}


def test_release_scores_zero_without_crashing(release_results):
    assert release_results["score"] == 0
    assert release_results["max_score"] == RUBRIC.max_score
    assert all(t["score"] == 0 and t["status"] == "failed" for t in release_results["tests"])
    assert all(t["output"] and "採点中にエラー" not in t["output"] for t in release_results["tests"])
    assert set(part_scores(release_results)) == set(RUBRIC.parts)
    # the stub's message says what to do
    linear = [t["output"] for t in release_results["tests"] if t["part"] == "linear"]
    assert all("まだ実装されていません" in m for m in linear)


def check_gradescope_shape(results: dict) -> None:
    assert isinstance(results["score"], float) and isinstance(results["max_score"], float)
    assert isinstance(results["tests"], list) and results["tests"]
    for t in results["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output", "status", "part"}, t
        assert isinstance(t["name"], str) and isinstance(t["output"], str)
        assert isinstance(t["score"], float) and isinstance(t["max_score"], float)
        assert t["status"] in ("passed", "failed") and t["part"] in RUBRIC.parts
        assert 0 <= t["score"] <= t["max_score"]
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(results["max_score"], abs=1e-9)
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(results["score"], abs=1e-9)
    for part in RUBRIC.parts.values():
        got = sum(t["max_score"] for t in results["tests"] if t["part"] == part.name)
        assert got == pytest.approx(part.points, abs=1e-9), part.name


def test_results_have_the_gradescope_shape(solution_results, release_results):
    check_gradescope_shape(solution_results)
    check_gradescope_shape(release_results)


def test_grading_twice_writes_identical_json(tmp_path):
    bugs = [BY_NAME["linear_dW_transposed"], BY_NAME["softmax_no_1_over_N"], BY_NAME["ex82_labels_1d"]]
    submission = make_submission(tmp_path / "buggy.ipynb", {b.cell: b.source for b in bugs})
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    write_results(grade(submission, NB74), first)
    write_results(grade(submission, NB74), second)
    assert first.read_bytes() == second.read_bytes()
    results = json.loads(first.read_text(encoding="utf-8"))
    check_gradescope_shape(results)
    scores = part_scores(results)
    assert {p for p, s in scores.items() if s < RUBRIC.parts[p].points} == {b.part for b in bugs}


def test_cli_grades_the_solution(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(SOLUTION), "--json", str(out)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["score"] == 100
