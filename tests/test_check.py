"""`python -m autograder check`: the kit's authoring checked before grading (issue 25).

On this tree it exits 0 (the solution full marks, the release 0, every catalog bug caught on its own
part with its diagnosis, no grader raising). In a scratch copy of the kit broken as an author would
break it (a Linear shape without its hidden seed: every Linear test raises; a ReLU test with no
points in the rubric; a catalog bug whose expected diagnosis no longer matches; a test with 0
points), `check` exits EXIT_GRADER_ERROR naming each reason, and `grade` exits the same with no
results written. The expectations and the report themselves are tested on made-up results.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from autograder.course.exit_codes import EXIT_GRADER_ERROR, EXIT_USAGE
from autograder.results import FAILED, GRADER_ERROR, PASSED, Confinement, Diagnosis, Results, TestName, TestResult
from autograder.tools import check
from autograder.tools import messages as say
from tests.broken_graders import break_graders
from tests.bugs.catalog import BUGS, forms_by_round
from tests.course import copy_kit, env
from tests.nb74 import NB74
from tests.submissions import SOLUTION

RUBRIC = NB74.rubric
SECONDS = re.compile(r"所要時間 ([0-9.]+) 秒")


def run(kit: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder", *args]
    return subprocess.run(cmd, cwd=kit, env=env(), capture_output=True, text=True, timeout=900)


def results(scores: dict[str, float], diagnoses: tuple[Diagnosis, ...] = (), broken: str = "") -> Results:
    """One test per part with these points (the part's maximum when not given)."""
    tests = []
    for part in RUBRIC.parts.values():
        got = scores.get(part.name, part.points)
        status = GRADER_ERROR if part.name == broken else PASSED if got == part.points else FAILED
        tests.append(TestResult(TestName(part.title, "test_x"), part.name, got, part.points, status, ""))
    total = sum(t.score for t in tests)
    return Results(total, RUBRIC.max_score, tuple(tests), Confinement("process"), diagnoses=diagnoses)


def test_the_expectations_on_made_up_results():
    assert check.full_marks(NB74.rubric)(results({})) == []
    assert "linear" in check.full_marks(NB74.rubric)(results({"linear": 10}))[0]
    assert check.zero(results({p: 0 for p in RUBRIC.parts})) == []
    assert check.zero(results({p: 0 for p in RUBRIC.parts if p != "mse"}))
    transposed = Diagnosis("linear", "dW", "transposed", "m")
    bug = check.loses_its_part(NB74.rubric, "linear", "dW transposed", "transposed")
    assert bug(results({"linear": 10}, (transposed,))) == []
    assert say.unnoticed("linear", "dW transposed") in bug(results({}))
    assert say.costs_other_parts("linear", ["mse"]) in bug(results({"linear": 10, "mse": 0}, (transposed,)))
    assert [w for w in bug(results({"linear": 10})) if "transposed" in w]  # no diagnosis at all
    scale = check.loses_its_part(NB74.rubric, "mse", "seed", ("scale", "D"))
    assert scale(results({"mse": 0}, (Diagnosis("mse", "dL/dy", "scale", "m", 3.0, "D"),))) == []
    assert scale(results({"mse": 0}, (Diagnosis("mse", "dL/dy", "scale", "m", 2.0, "1/2"),)))
    # a part a grader broke is reported once, for the whole run; the other parts are still checked
    assert check.full_marks(NB74.rubric)(check.graded_parts(results({"relu": 0}, broken="relu"))) == []
    assert check.full_marks(NB74.rubric)(check.graded_parts(results({"relu": 0, "mse": 0}, broken="relu")))
    failures = check.grader_errors({"a": results({}, broken="relu"), "b": results({}, broken="relu")}, RUBRIC)
    assert [f.why for f in failures] == [say.grader_raised("ReLU.backward", "relu", ["test_x"], 2)]


def test_the_report_names_each_failure_and_its_reason():
    report = check.Report("nb", graded=3, seconds=1.5, failures=[check.Failure(say.bug("x"), "why x")])
    text = check.format_report(report)
    assert say.summary("nb", 3, 1.5, 1) in text and "why x" in text and say.FIX_FIRST in text
    assert check.format_report(check.Report("nb", graded=3, seconds=1.5)) == say.summary("nb", 3, 1.5, 0)


def test_an_assignment_the_kit_does_not_grade_is_refused(capsys):
    assert check.main("nb75_training_loop", workers=1, isolation="process") == EXIT_USAGE
    assert say.not_judged("nb75_training_loop") in capsys.readouterr().err


def test_check_passes_on_this_tree():
    done = run(ROOT, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    graded = 2 + len(BUGS) + len(forms_by_round())  # the solution, the release, the bugs, the forms
    seconds = float(SECONDS.search(done.stdout).group(1))  # type: ignore[union-attr]
    assert done.stdout.strip() == say.summary(RUBRIC.assignment, graded, seconds, 0), done.stdout


@pytest.fixture(scope="module")
def broken_kit(tmp_path_factory) -> Path:
    kit = copy_kit(tmp_path_factory.mktemp("broken") / "kit")
    break_graders(kit)
    diagnoses = kit / "autograder" / "assignments" / "nb74_matrix_backprop" / "graders" / "catalog" / "diagnoses.py"
    text = diagnoses.read_text(encoding="utf-8")
    assert '"mse_sign": "sign",' in text
    diagnoses.write_text(text.replace('"mse_sign": "sign",', '"mse_sign": "transposed",'), encoding="utf-8")
    return kit


def test_check_and_grade_fail_loudly_on_a_broken_kit(broken_kit, tmp_path):
    done = run(broken_kit, "check")
    assert done.returncode == EXIT_GRADER_ERROR, done.stdout + done.stderr
    out = done.stdout
    assert "Linear.backward（linear）を採点できません" in out  # every Linear test raises
    assert "ReLU.backward（relu）を採点できません" in out and "test_extra_check" in out and "配点がありません" in out
    assert say.bug("mse_sign") in out and say.wrong_diagnosis("mse", "transposed", ["sign"]) in out
    assert (
        "最初の採点プログラムのエラー" in out and "ValueError" in out
    )  # the graders' traceback, from the workers' log
    assert say.FIX_FIRST in out
    assert "Traceback" not in done.stderr  # the workers' tracebacks went to their log, not the terminal
    # grade, in the same kit: the kit's failure, no score written for the student
    results_file = tmp_path / "results.json"
    done = run(broken_kit, "grade", str(SOLUTION), "--json", str(results_file), "--isolation", "process")
    assert done.returncode == EXIT_GRADER_ERROR, done.stdout + done.stderr
    assert not results_file.exists()


def test_check_refuses_a_test_with_no_points(tmp_path):
    kit = copy_kit(tmp_path / "kit")
    rubric = kit / "autograder" / "assignments" / "nb74_matrix_backprop" / "rubric.toml"
    text = rubric.read_text(encoding="utf-8")
    assert "test_analytic = 1 }" in text
    rubric.write_text(text.replace("test_analytic = 1 }", "test_analytic = 0 }", 1), encoding="utf-8")
    done = run(kit, "check")
    assert done.returncode == EXIT_GRADER_ERROR, done.stdout + done.stderr
    assert "test_analytic = 0: every test needs points > 0" in done.stdout
