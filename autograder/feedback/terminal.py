"""A short terminal report of a submission's results: one line per part, then what failed and why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wcwidth import wcswidth

from ..course.assignment import load_rubric
from ..results import Results, capped
from .messages import bullet, part_messages

TITLE_WIDTH = 32  # terminal columns of the title column


def columns(text: str) -> int:
    """The terminal columns `text` takes: a Japanese character takes two (len() counts one)."""
    shown = wcswidth(text)
    return shown if shown >= 0 else len(text)  # a control character: counted as one


def pad(text: str, width: int) -> str:
    """Text padded with spaces to `width` terminal columns, so that the columns after it line up
    (str.ljust counts characters, not columns)."""
    return text + " " * (width - columns(text))


def format_report(results: Results | Mapping[str, Any], max_reasons: int | None = None) -> str:
    """Every part's points, each followed by all its messages (cause first, see
    autograder.feedback.messages), or the first `max_reasons` and how many more there are."""
    rubric = load_rubric()
    res = Results.of(results)
    scores = res.part_scores()
    lines = []
    for name, part in rubric.parts.items():
        got = scores.get(name, 0)
        mark = "✓" if abs(got - part.points) < 1e-9 else "✗"
        lines.append(f"{mark} {pad(part.title, TITLE_WIDTH)} {got:6.2f} / {part.points:g}")
        messages = part_messages(res, name)
        shown = messages if max_reasons is None else capped(messages, max_reasons)
        lines += ["    " + bullet(m).replace("\n", "\n    ") for m in shown]
    lines.append(f"合計 {res.score:.2f} / {res.max_score:g}（隔離: {res.isolation}）")
    return "\n".join(lines)
