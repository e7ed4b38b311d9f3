"""A grader's mistake is the kit's failure, never the student's (results.GRADER_ERROR).

In a scratch copy of the kit, a grader is broken as an instructor would break it: a new Linear
shape without its hidden seed (every Linear test's setup raises), and a new ReLU test with no
points in the rubric. Then `grade` exits EXIT_GRADER_ERROR and writes no results, the batch records
no score for the student and says so, and `nbgrader autograde` fails the submission, naming the
parts, with no score in the gradebook.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.exit_codes import EXIT_GRADER_ERROR
from tests.broken_graders import break_graders
from tests.course import A, add_students, copy_kit, db_url, env, make_course, place
from tests.submissions import SOLUTION

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    kit = copy_kit(tmp_path_factory.mktemp("broken") / "kit")
    break_graders(kit)
    return kit


def run(kit: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", *args]
    return subprocess.run(cmd, cwd=kit, env=env(), capture_output=True, text=True, timeout=900)


def test_grade_exits_with_a_grading_error_and_writes_no_results(kit, tmp_path):
    out = tmp_path / "results.json"
    done = run(kit, "autograder", "grade", str(SOLUTION), "--json", str(out), "--isolation", "process")
    assert done.returncode == EXIT_GRADER_ERROR, done.stdout + done.stderr
    assert not out.exists()
    assert "Linear.backward（linear）" in done.stderr and "ReLU.backward（relu）" in done.stderr
    assert "test_extra_check" in done.stderr and "配点がありません" in done.stderr
    assert "採点エラー" in done.stdout and "合計 未確定" in done.stdout
    # the other parts are graded as usual
    assert "✓ Sigmoid.backward" in done.stdout


def test_batch_records_no_score_and_says_so(kit, tmp_path):
    course = make_course(tmp_path / "course")
    add_students(course, ["s1"])
    place(course, "s1", SOLUTION)
    summary = tmp_path / "summary.md"
    done = run(
        kit, "autograder", "batch", A, "--root", str(course), "--no-progress", "--no-feedback",
        "--isolation", "process", "--summary", str(summary),
    )  # fmt: skip
    assert done.returncode == EXIT_GRADER_ERROR, done.stdout + done.stderr
    assert "採点プログラムのエラーのため記録しなかった提出" in done.stdout and "s1（linear, relu）" in done.stdout
    assert "採点プログラムのエラーのため点数を記録しなかった提出 1 件" in summary.read_text(encoding="utf-8")
    con = sqlite3.connect(course / "gradebook.db")
    try:
        assert con.execute("SELECT count(*) FROM nb74_judge_runs").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM grade WHERE auto_score IS NOT NULL").fetchone()[0] == 0
    finally:
        con.close()


def test_nbgrader_autograde_fails_the_submission_naming_the_parts(kit, tmp_path):
    course = make_course(tmp_path / "course")
    add_students(course, ["s1"])
    place(course, "s1", SOLUTION)
    config = [
        "--Autograde.force=True",
        f"--CourseDirectory.root={course}",
        f"--CourseDirectory.db_url={db_url(course)}",
    ]
    done = run(kit, "nbgrader", "autograde", A, "--JudgeScores.isolation=process", *config)
    assert done.returncode != 0
    assert "GradingError" in done.stderr and "Linear.backward（linear）" in done.stderr
    con = sqlite3.connect(course / "gradebook.db")
    try:
        assert con.execute("SELECT count(*) FROM grade WHERE auto_score IS NOT NULL").fetchone()[0] == 0
        journal = con.execute("SELECT name FROM sqlite_master WHERE name = 'nb74_judge_runs'").fetchone()
        assert journal is None or con.execute("SELECT count(*) FROM nb74_judge_runs").fetchone()[0] == 0
    finally:
        con.close()
    assert not (course / "autograded" / "s1" / A / "matrix_backprop.ipynb").exists()
    assert json.loads(SOLUTION.read_text(encoding="utf-8"))  # (the solution itself untouched)
