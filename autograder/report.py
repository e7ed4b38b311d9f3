"""A short terminal report of a results dict: one line per part, then what failed and why."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .assignment import load_rubric


def format_report(results: dict[str, Any], max_reasons: int = 2) -> str:
    rubric = load_rubric()
    by_part: dict[str, list[dict]] = defaultdict(list)
    for t in results["tests"]:
        by_part[t["part"]].append(t)
    lines = []
    for name, part in rubric.parts.items():
        tests = by_part.get(name, [])
        got = sum(t["score"] for t in tests)
        mark = "✓" if abs(got - part.points) < 1e-9 else "✗"
        lines.append(f"{mark} {part.title:<32} {got:6.2f} / {part.points:g}")
        reasons = list(dict.fromkeys(t["output"] for t in tests if t["status"] != "passed"))
        for r in reasons[:max_reasons]:
            lines.append(f"    - {r}")
        if len(reasons) > max_reasons:
            lines.append(f"    - …ほか {len(reasons) - max_reasons} 件")
    lines.append(f"合計 {results['score']:.2f} / {results['max_score']:g}（隔離: {results.get('isolation', '?')}）")
    return "\n".join(lines)
