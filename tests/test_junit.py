"""`python -m autograder grade --junit/--summary` and its exit codes, as a CI job runs it (real
subprocesses, the real judge), and the JUnit writer on hostile strings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml

from autograder.course.assignment import ROOT
from autograder.reports.junit import write_junit
from autograder.results import FAILED, PASSED, Confinement, Diagnosis, Results, TestName, TestResult
from autograder.tools.demo import solution_cells, with_bug
from tests.nb74 import NB74
from tests.signals import sigint_default
from tests.submissions import make_submission

RUBRIC = NB74.rubric


def grade_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "autograder", "grade", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def transposed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sol = solution_cells(NB74.source(), RUBRIC)
    path = tmp_path_factory.mktemp("junit") / "matrix_backprop.ipynb"
    return make_submission(path, {"linear": with_bug(sol["linear"], "x.T @ dout", "dout.T @ x")})


def test_grade_junit_of_a_buggy_submission(transposed: Path, tmp_path: Path) -> None:
    out, junit, summary = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "s.md"
    done = grade_cli(str(transposed), "--json", str(out), "--junit", str(junit), "--summary", str(summary))
    assert done.returncode == 0, done.stderr  # graded: 0 whatever the score
    results = json.loads(out.read_text(encoding="utf-8"))
    failed = [t for t in results["tests"] if t["status"] == FAILED]
    assert 0 < len(failed) < len(results["tests"])

    xml = JUnitXml.fromfile(str(junit))
    suites = list(xml)
    assert [s.name for s in suites] == [transposed.name]
    cases = list(suites[0])
    assert len(cases) == len(results["tests"]) == xml.tests
    failures = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]
    assert len(failures) == len(failed) == xml.failures and xml.errors == 0
    by_key = {(t["part"], t["name"].split(" :: ", 1)[1]): t for t in results["tests"]}
    for case in cases:
        t = by_key[(case.classname, case.name)]
        assert f"得点: {t['score']:g} / {t['max_score']:g}" in case.system_out
        if t["status"] == FAILED:
            assert case.result[0].message == t["output"]  # the Japanese message, as the judge wrote it
            assert "dW" in t["output"] and "Linear" in t["output"]
    assert "見立て: dW の形状" in next(c.system_out for c in failures)
    props = {p.name: p.value for p in suites[0].properties()}
    assert float(props["score"]) == results["score"] == 80

    text = summary.read_text(encoding="utf-8")
    assert f"{results['score']:g} / 100" in text
    assert "| Linear.backward | 0 / 20 | 0 | 9 |" in text
    # appended, never overwritten ($GITHUB_STEP_SUMMARY holds every step's output)
    assert grade_cli(str(transposed), "--summary", str(summary)).returncode == 0
    assert (
        summary.read_text(encoding="utf-8").startswith(text)
        and summary.read_text(encoding="utf-8").count("### 採点結果") == 2
    )


def test_an_unreadable_submission_exits_1_with_errors(tmp_path: Path) -> None:
    bad = tmp_path / "matrix_backprop.ipynb"
    bad.write_bytes(b'{"cells": [ this is not JSON')
    junit = tmp_path / "j.xml"
    done = grade_cli(str(bad), "--junit", str(junit), "--summary", str(tmp_path / "s.md"))
    assert done.returncode == 1, done.stderr
    cases = list(next(iter(JUnitXml.fromfile(str(junit)))))
    assert len(cases) == len(RUBRIC.parts)
    for case in cases:
        (result,) = case.result
        assert isinstance(result, Error) and result.type == "grading_problem"
        assert "JSON" in (result.message or "")
    assert "⚠" in (tmp_path / "s.md").read_text(encoding="utf-8")


def test_usage_error_exits_2_and_help_documents_the_codes() -> None:
    done = grade_cli("--junit")
    assert done.returncode == 2 and "usage" in done.stderr
    for command in ("grade", "batch"):
        help_ = subprocess.run(
            [sys.executable, "-m", "autograder", command, "--help"], cwd=ROOT, capture_output=True, text=True
        )
        assert help_.returncode == 0
        for code in ("0 ", "1 ", "2 ", "130"):
            assert f"\n  {code}" in help_.stdout
        assert "--junit" in help_.stdout and "--summary" in help_.stdout


def children(pid: int) -> list[str]:
    try:
        return [c for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    except FileNotFoundError:
        return []


def test_interrupted_grade_exits_130_and_writes_nothing(tmp_path: Path) -> None:
    # a cell that never ends: the judge waits its cell time limit (10 s), so the Ctrl-C lands while grading
    hang = make_submission(tmp_path / "matrix_backprop.ipynb", {"linear": "while True:\n    pass\n"})
    junit = tmp_path / "j.xml"
    cmd = [sys.executable, "-m", "autograder", "grade", str(hang), "--junit", str(junit)]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default
    )
    try:
        while not children(proc.pid) and proc.poll() is None:  # the student process exists: inside the grade
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "中断" in err and not junit.exists()


# -- the writer on what a student controls -------------------------------------------------------

HOSTILE = "悪い\x00入力\x1b[31m\x08 ]]> <script>alert(1)</script> & \"'\ud800 \uffff 終"


def hostile_results() -> Results:
    part = next(iter(RUBRIC.parts.values()))
    tests = (
        TestResult(TestName(part.title, f"test_gradients[{HOSTILE}]"), part.name, 0.0, 2.0, FAILED, "誤り: " + HOSTILE),
        TestResult(TestName(part.title, "test_ok"), part.name, 1.0, 1.0, PASSED, ""),
    )
    diag = Diagnosis(part.name, "dW", "unknown", "見立て" + HOSTILE)
    return Results(1.0, 3.0, tests, Confinement("process"), problems=(HOSTILE,), diagnoses=(diag,))


def test_hostile_strings_make_valid_xml_and_japanese_survives(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    write_junit({HOSTILE: hostile_results()}, path)
    ET.fromstring(path.read_bytes())  # a strict XML 1.0 parser accepts it
    xml = JUnitXml.fromfile(str(path))
    (suite,) = list(xml)
    # C0 controls, lone surrogates and noncharacters dropped (autograder.course.plain_text.bounded)
    assert suite.name == "悪い入力[31m ]]> <script>alert(1)</script> & \"'  終"
    failed, passed = list(suite)
    assert passed.is_passed and failed.is_failure and xml.failures == 1
    message = failed.result[0].message or ""
    assert "<script>alert(1)</script> & \"'" in message and "]]>" in message  # escaped, not dropped
    assert not any(ch in message for ch in "\x00\x08\ud800\uffff")
    assert any(p.name == "problem_1" for p in suite.properties())
    assert not list(tmp_path.glob("*.tmp"))
    os.remove(path)
