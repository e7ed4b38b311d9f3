"""A short terminal report of a submission's results: one line per part, then what failed and why."""

from __future__ import annotations

from wcwidth import wcswidth

from ..course.assignment import Rubric
from ..results import Results
from .messages import GRADER_ERROR_SCORE, bullet, more, part_messages, report_total, report_total_unsettled

TITLE_WIDTH = 32  # terminal columns of the title column


def columns(text: str) -> int:
    """The terminal columns `text` takes: a Japanese character takes two (len() counts one)."""
    shown = wcswidth(text)
    return shown if shown >= 0 else len(text)  # a control character: counted as one


def pad(text: str, width: int) -> str:
    """Text padded with spaces to `width` terminal columns, so that the columns after it line up
    (str.ljust counts characters, not columns)."""
    return text + " " * (width - columns(text))


def capped(lines: list[str], limit: int) -> list[str]:
    """At most `limit` lines, then one saying how many more there were."""
    return lines[:limit] + ([more(len(lines) - limit)] if len(lines) > limit else [])


def format_report(results: Results, rubric: Rubric, max_reasons: int | None = None) -> str:
    """Every part's points, each followed by all its messages (cause first, see
    autograder.feedback.messages), or the first `max_reasons` and how many more there are."""
    scores = results.part_scores()
    lines = []
    broken = results.grader_errors
    for name, part in rubric.parts.items():
        got = scores.get(name, 0)
        mark = "✓" if abs(got - part.points) < 1e-9 else "✗"
        if name in broken:  # no score: the kit's failure (results.GRADER_ERROR)
            lines.append(f"! {pad(part.title, TITLE_WIDTH)} {GRADER_ERROR_SCORE} / {part.points:g}")
        else:
            lines.append(f"{mark} {pad(part.title, TITLE_WIDTH)} {got:6.2f} / {part.points:g}")
        messages = part_messages(results, name, rubric)
        shown = messages if max_reasons is None else capped(messages, max_reasons)
        lines += ["    " + bullet(m).replace("\n", "\n    ") for m in shown]
    if broken:
        lines.append(report_total_unsettled(results.confinement))
    else:
        lines.append(report_total(results.score, results.max_score, results.confinement))
    return "\n".join(lines)
