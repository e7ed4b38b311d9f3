"""One truth for hidden tests: they are the pytest graders, so the build refuses a source notebook
that holds nbgrader's hidden-test blocks (the judge would never run them, nor count them)."""

import nbformat
import pytest

from autograder.tools.build import apply_rubric
from tests.nb74 import NB74


def test_the_source_holds_no_hidden_tests_and_builds():
    nb = nbformat.read(NB74.source(), as_version=4)
    apply_rubric(nb, NB74.rubric)  # no error


def test_a_hidden_test_block_in_the_source_stops_the_build():
    nb = nbformat.read(NB74.source(), as_version=4)
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_linear")
    cell.source += "\n### BEGIN HIDDEN TESTS\nassert False\n### END HIDDEN TESTS"
    with pytest.raises(ValueError, match=r"test_linear.*autograder/assignments/nb74_matrix_backprop/graders/"):
        apply_rubric(nb, NB74.rubric)
