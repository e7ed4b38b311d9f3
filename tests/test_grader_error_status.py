"""A grading error (results.GRADER_ERROR) in memory: the rubric's load-time check, the plugin's
check of the collected graders against the rubric, the results, and how every report shows it.
The real CLI with a broken grader: tests/test_grader_errors.py."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.course.assignment import load_rubric
from autograder.feedback.terminal import format_report
from autograder.judge.grade import build_results
from autograder.judge.messages import grader_error_report
from autograder.judge.plugin import JudgePlugin
from autograder.judge.plugin import TestOutcome as Outcome
from autograder.reports.junit import junit_xml
from autograder.reports.summary import batch_summary
from autograder.results import GRADER_ERROR, Confinement, Results
from tests.nb74 import NB74

RUBRIC = NB74.rubric
FIRST = next(iter(RUBRIC.parts.values()))


def test_a_test_with_no_points_is_refused_when_the_rubric_is_loaded(tmp_path):
    text = NB74.rubric_path.read_text(encoding="utf-8")
    test, points = next(iter(FIRST.tests.items()))
    changed = text.replace(f"{test} = {points:g}", f"{test} = 0", 1)
    assert changed != text
    (tmp_path / "rubric.toml").write_text(changed, encoding="utf-8")
    with pytest.raises(ValueError, match=f"{test} = 0"):
        load_rubric(tmp_path / "rubric.toml")


def plugin_with(cases: dict[tuple[str, str], int]) -> JudgePlugin:
    plugin = JudgePlugin.__new__(JudgePlugin)  # only what check_rubric reads
    plugin.rubric, plugin.cases, plugin.broken_parts = RUBRIC, Counter(cases), {}
    return plugin


def every_test() -> dict[tuple[str, str], int]:
    return {(p.name, t): 1 for p in RUBRIC.parts.values() for t in p.tests}


def test_graders_matching_the_rubric_break_nothing():
    plugin = plugin_with(every_test())
    plugin.check_rubric()
    assert plugin.broken_parts == {}


def test_a_collected_test_without_points_breaks_its_part(capsys):
    plugin = plugin_with({**every_test(), (FIRST.name, "test_new"): 1})
    plugin.check_rubric()
    assert list(plugin.broken_parts) == [FIRST.name]
    assert "test_new" in plugin.broken_parts[FIRST.name] and "配点がありません" in capsys.readouterr().err


def test_points_for_a_test_no_grader_defines_break_its_part():
    cases = every_test()
    del cases[(FIRST.name, next(iter(FIRST.tests)))]
    plugin = plugin_with(cases)
    plugin.check_rubric()
    assert list(plugin.broken_parts) == [FIRST.name]


def test_a_grader_module_of_no_part_breaks_every_part():
    plugin = plugin_with({**every_test(), ("unknown", "test_x"): 1})
    plugin.check_rubric()
    assert sorted(plugin.broken_parts) == sorted(RUBRIC.parts)


def fake_plugin(error_in: str) -> SimpleNamespace:
    outcomes = {}
    for part in RUBRIC.parts.values():
        for test in part.tests:
            error = part.name == error_in and test == next(iter(part.tests))
            nodeid = f"test_{part.name}.py::{test}"
            outcomes[nodeid] = Outcome(part.name, test, test, nodeid, not error, "x" if error else "OK", (), error)
    plugin = plugin_with({(o.part, o.test): 1 for o in outcomes.values()})
    plugin.outcomes, plugin.order = outcomes, {n: i for i, n in enumerate(RUBRIC.parts)}
    return plugin


def test_a_grader_that_raised_is_a_grading_error_not_a_score():
    results = build_results(fake_plugin(FIRST.name), NB74, Confinement("process"))
    assert results.grader_errors == [FIRST.name]
    assert [t.status for t in results.tests if t.part == FIRST.name].count(GRADER_ERROR) == 1
    assert FIRST.name in grader_error_report(results) and FIRST.title in grader_error_report(results)
    assert Results.from_json(results.to_json()).grader_errors == [FIRST.name]  # kept through the file


def test_a_part_whose_graders_did_not_run_is_a_grading_error():
    plugin = fake_plugin("")
    plugin.outcomes = {k: o for k, o in plugin.outcomes.items() if o.part != FIRST.name}
    assert build_results(plugin, NB74, Confinement("process")).grader_errors == [FIRST.name]


def test_the_reports_say_grading_error():
    results = build_results(fake_plugin(FIRST.name), NB74, Confinement("process"))
    report = format_report(results, RUBRIC)
    assert f"! {FIRST.title}" in report and "採点エラー" in report and "合計 未確定" in report
    xml = junit_xml({"s1": results}).tostring().decode()
    assert f'type="{GRADER_ERROR}"' in xml
    text = batch_summary({}, RUBRIC, grader_errors={"s1": results})
    assert "点数を記録しなかった提出 1 件" in text and FIRST.name in text


def test_the_judge_failing_in_the_batch_is_a_grading_error_for_every_part():
    results = Results.grader_failure(RUBRIC, Confinement("process"))
    assert results.grader_errors == list(RUBRIC.parts)
    assert not results.refused  # not the student's submission refused: nothing is recorded at all


def test_gradescope_records_no_score_for_a_grading_error(monkeypatch, tmp_path):
    from autograder.course.exit_codes import EXIT_GRADER_ERROR
    from autograder.routes.gradescope import __main__ as gradescope

    def judge(*args, **kw):  # the judge CLI as it exits on a grading error (no process is started)
        return SimpleNamespace(returncode=EXIT_GRADER_ERROR, stdout=b"", stderr=b"grader error\n")

    notebook = tmp_path / "matrix_backprop.ipynb"
    notebook.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(gradescope, "subprocess", SimpleNamespace(run=judge, DEVNULL=None, TimeoutExpired=TimeoutError))
    monkeypatch.setattr(gradescope, "choose", lambda _, _a: SimpleNamespace(notebook=notebook, notes=(), reason=""))
    target = tmp_path / "results" / "results.json"
    monkeypatch.setattr(gradescope.paths, "results_file", lambda: target)
    monkeypatch.setattr(gradescope.paths, "submission", lambda: Path(tmp_path))
    assert gradescope.main() == EXIT_GRADER_ERROR
    assert not target.exists()
