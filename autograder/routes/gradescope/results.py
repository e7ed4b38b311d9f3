"""The judge's results in Gradescope's results.json format.

Gradescope's specification: top-level score, execution_time, output, visibility,
stdout_visibility, extra_data, and tests[] with name, score, max_score, status (passed/failed),
output, tags and visibility. One row per rubric part, named by its Japanese title, in the rubric's
order: its points, and as output the part's messages as the feedback shows them (autograder.feedback.messages:
the diagnosis first, a check failed on several inputs said once). The judge's total is the score as
it is (no re-summing); the pytest cases behind each row go to extra_data (not shown to students).
The pictures have no place in the format and are left out.
"""

from __future__ import annotations

from typing import Any

from ...course.assignment import Rubric
from ...feedback.messages import bullet, part_label, part_messages
from ...results import PASSED, Confinement, Results
from . import messages as say


def to_gradescope(results: Results, rubric: Rubric, seconds: float, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    scores = results.part_scores()
    tests = []
    for part in rubric.parts.values():
        score = round(scores.get(part.name, 0.0), 6)
        messages = part_messages(results, part.name, rubric)
        passed = score >= part.points and not any(not t.passed for t in results.part_tests(part.name))
        tests.append(
            {
                "name": part_label(part),
                "score": score,
                "max_score": float(part.points),
                "status": PASSED if passed else "failed",
                "output": "\n".join(bullet(m) for m in messages) if messages else (say.ALL_PASSED if passed else ""),
                "tags": [part.name],
                "visibility": rubric.part_visibility(part.name),
            }
        )
    lines = [say.total(results.score, results.max_score), *notes, *results.messages()]
    lines.append(say.isolation_line(results.confinement))
    return {
        "score": results.score,
        "execution_time": round(seconds, 3),
        "output": "\n".join(dict.fromkeys(lines)),
        "visibility": rubric.visibility,
        "stdout_visibility": "hidden",
        "extra_data": {
            "isolation": str(results.confinement),
            "diagnoses": [d.code for d in results.diagnoses],
            "cases": [[str(t.name), t.score, t.status] for t in results.tests],  # for the instructor
        },
        "tests": tests,
    }


def refused(reason: str, rubric: Rubric, seconds: float, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    """Nothing could be graded: 0 on every part, the reason on each (Results.empty); no student
    process ran, so no isolation was achieved ("none")."""
    return to_gradescope(Results.empty(rubric, reason, Confinement.unconfirmed("none")), rubric, seconds, notes)
