"""The hidden inputs the judge draws for a submission (the tests know the course secret)."""

from __future__ import annotations

from pathlib import Path

from autograder.course.assignment import load_rubric
from autograder.course.secret import submission_key
from autograder.graders.session import inputs_key
from autograder.judge.grade import collect_cells, read_submission

RUBRIC = load_rubric()


def linear_inputs(notebook: Path) -> list[dict]:
    """The Linear cases the judge draws for this submission (the test knows the course secret)."""
    from autograder.graders import test_linear

    cells, _ = collect_cells(read_submission(notebook), RUBRIC)
    with inputs_key(submission_key(cells)):
        suite, seeds = test_linear.TestLinear, test_linear.TestLinear.hidden
        return suite.cases(seeds) + [suite.property_case(seeds)]
