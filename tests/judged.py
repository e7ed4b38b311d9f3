"""The judge as most tests read it: one grade's results as the dict the results file holds.

The kit itself passes Results around (autograder/results.py) and writes JSON only where a grade
leaves the process; the tests check that file's fields (results["tests"][0]["output"], ...), so
here a grade is turned into that shape once, as `python -m autograder grade --json` would write it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.judge.grade import grade
from autograder.results import Results
from tests.nb74 import NB74


def grade_notebook(path: Path, isolation: str = "auto", server: Any = None, proc: Any = None) -> dict[str, Any]:
    """Grade one submitted notebook file: its results as the results file's dict."""
    return grade(Path(path), NB74, isolation=isolation, server=server, proc=proc).to_dict()


def part_scores(results: dict[str, Any]) -> dict[str, float]:
    """Points per part of a results dict (Results.part_scores)."""
    return Results.from_dict(results).part_scores()
