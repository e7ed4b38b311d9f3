"""The hidden inputs the judge draws for a submission (the tests know the course secret)."""

from __future__ import annotations

from pathlib import Path

from autograder.course.secret import submission_key
from autograder.graders.session import inputs_key
from autograder.judge.grade import collect_cells, read_submission
from tests.nb74 import NB74

RUBRIC = NB74.rubric


def linear_inputs(notebook: Path) -> list[dict]:
    """The Linear cases the judge draws for this submission (the test knows the course secret)."""
    from autograder.assignments.nb74_matrix_backprop.graders import test_linear

    cells, _ = collect_cells(read_submission(notebook, NB74), NB74)
    with inputs_key(submission_key(cells)):
        suite, seeds = test_linear.TestLinear, test_linear.TestLinear.hidden
        return suite.cases(seeds) + [suite.property_case(seeds)]
