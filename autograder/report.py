"""A short terminal report of a submission's results: one line per part, then what failed and why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .assignment import load_rubric
from .results import Results, capped


def format_report(results: Results | Mapping[str, Any], max_reasons: int = 2) -> str:
    rubric = load_rubric()
    res = Results.of(results)
    scores = res.part_scores()
    lines = []
    for name, part in rubric.parts.items():
        got = scores.get(name, 0)
        mark = "✓" if abs(got - part.points) < 1e-9 else "✗"
        lines.append(f"{mark} {part.title:<32} {got:6.2f} / {part.points:g}")
        lines += [f"    - {r}" for r in capped(res.reasons(name), max_reasons)]
    lines.append(f"合計 {res.score:.2f} / {res.max_score:g}（隔離: {res.isolation}）")
    return "\n".join(lines)
