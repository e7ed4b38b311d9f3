"""The judge's results in Gradescope's results.json format.

Gradescope's specification: top-level score, execution_time, output, visibility,
stdout_visibility, extra_data, and tests[] with name, score, max_score, status (passed/failed),
output, tags and visibility. The judge's total is the score as it is (no re-summing). A part's
diagnosis (which mistake its gradient shows) leads the output of its first failed test; the
pictures have no place in the format and are left out.
"""

from __future__ import annotations

from typing import Any

from ..assignment import load_rubric
from ..feedback import DIAGNOSIS
from ..results import Results


def to_gradescope(results: Results, seconds: float, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    rubric = load_rubric()
    told: set[str] = set()
    tests = []
    for t in results.tests:
        output = t.output
        if not t.passed and t.part not in told:
            told.add(t.part)
            diagnoses = [DIAGNOSIS + d.message for d in results.part_diagnoses(t.part)]
            output = "\n".join([*diagnoses, output]) if diagnoses else output
        tests.append(
            {
                "name": t.name,
                "score": t.score,
                "max_score": t.max_score,
                "status": t.status,
                "output": output,
                "tags": [t.part],
                "visibility": rubric.part_visibility(t.part),
            }
        )
    lines = [f"合計 {results.score:.2f} / {results.max_score:g}", *notes, *results.messages()]
    lines.append(f"隔離レベル: {results.isolation}")
    return {
        "score": results.score,
        "execution_time": round(seconds, 3),
        "output": "\n".join(dict.fromkeys(lines)),
        "visibility": rubric.visibility,
        "stdout_visibility": "hidden",
        "extra_data": {"isolation": results.isolation, "diagnoses": [d.code for d in results.diagnoses]},
        "tests": tests,
    }


def refused(reason: str, seconds: float, notes: tuple[str, ...] = (), isolation: str = "none") -> dict[str, Any]:
    """Nothing could be graded: 0 on every part, the reason on each (Results.empty)."""
    return to_gradescope(Results.empty(load_rubric(), reason, isolation), seconds, notes)
