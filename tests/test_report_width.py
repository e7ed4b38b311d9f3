"""The judge's terminal report: columns line up with Japanese titles, every message is shown."""

from __future__ import annotations

from wcwidth import wcswidth

from autograder.feedback.terminal import format_report, pad
from autograder.results import FAILED, Confinement, Results, TestName, TestResult
from tests.nb74 import NB74

RUBRIC = NB74.rubric


def test_japanese_titles_do_not_push_the_scores_out_of_line():
    assert any(wcswidth(p.title) > len(p.title) for p in RUBRIC.parts.values())  # wide characters exist
    report = format_report(Results.empty(RUBRIC, "採点できませんでした", Confinement("test")), RUBRIC)
    part_lines = [ln for ln in report.split("\n") if ln[:1] in "✓✗"]
    assert len(part_lines) == len(RUBRIC.parts)
    columns = {wcswidth(ln[: ln.index(" / ")]) for ln in part_lines}
    assert len(columns) == 1, report


def test_pad_counts_terminal_columns():
    assert pad("演習", 6) == "演習  " and pad("ab", 6) == "ab    " and pad("長い題名です", 4) == "長い題名です"


def test_every_message_of_a_part_is_shown():
    tests = tuple(
        TestResult(TestName("Linear.backward", f"test_gradients[c{i}]"), "linear", 0.0, 1.0, FAILED, f"理由 {i}")
        for i in range(6)
    )
    report = format_report(Results(0.0, 6.0, tests, Confinement("test")), RUBRIC)
    assert all(f"    - 理由 {i}" in report for i in range(6)) and "ほか" not in report
    assert "…ほか 4 件" in format_report(Results(0.0, 6.0, tests, Confinement("test")), RUBRIC, max_reasons=2)


def test_the_batch_summary_values_start_at_one_terminal_column():
    """`python -m autograder batch` ends with a table of Japanese labels: each value starts at the
    same terminal column (len() would count a Japanese character as one column and misalign them)."""
    from autograder.routes.batch.coordinator import summary_table

    summary = {
        "submissions": 1234,
        "graded": 7,
        "skipped": 1227,
        "failures": ["山田太郎", "ｽｽﾞｷ"],
        "scores": {"山田太郎": 0.0, "佐藤花子": 100.0, "ｽｽﾞｷ": 12.5},
        "seconds": 65.4,
        "feedback_failures": ["佐藤花子"],
    }
    table = summary_table(summary).split("\n")
    rows = [ln for ln in table if "提出:" not in ln]  # the lists of names that follow the table
    assert len(rows) == 6 and any(wcswidth(ln) > len(ln) for ln in rows)
    label_widths = [wcswidth(ln.split(" ", 1)[0]) for ln in rows]
    starts = {wcswidth(ln[: len(ln) - len(ln.split(" ", 1)[1].lstrip(" "))]) for ln in rows}
    assert starts == {max(label_widths) + 2}, "\n".join(table)
