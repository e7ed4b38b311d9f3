"""A test's name in the results: made, written and read back in one place (results.TestName)."""

from __future__ import annotations

from autograder.results import TestName, TestResult


def test_a_case_is_written_after_its_parts_title_and_read_back() -> None:
    name = TestName("Linear.backward", "test_gradients[N1_Din3_Dout2]")
    assert str(name) == "Linear.backward :: test_gradients[N1_Din3_Dout2]"
    assert TestName.parse(str(name)) == name
    assert name.test == "test_gradients"


def test_a_part_that_was_not_graded_is_its_title_alone() -> None:
    name = TestName("演習 8.1")
    assert str(name) == "演習 8.1" and TestName.parse("演習 8.1") == name and name.test == ""


def test_a_results_file_keeps_the_name_as_text() -> None:
    t = TestResult(TestName("Sigmoid.backward", "test_ok"), "sigmoid", 1.0, 1.0, "passed", "OK")
    assert t.to_dict()["name"] == "Sigmoid.backward :: test_ok"
    assert TestResult.from_dict(t.to_dict()) == t
