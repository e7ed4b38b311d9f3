"""The small values of the results, each made, written and read back in one place: a test's name
(results.TestName) and what the sandbox achieved (results.Confinement)."""

from __future__ import annotations

import pytest

from autograder.results import Confinement, Results, TestName, TestResult
from autograder.sandbox.levels import REQUESTS, as_request


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


@pytest.mark.parametrize("text", ["bwrap+seccomp", "process+uid-nobody+landlock+seccomp", "bwrap", "auto", "?", "none"])
def test_what_the_sandbox_achieved_is_read_back_as_written(text: str) -> None:
    assert str(Confinement.parse(text)) == text


def test_the_results_file_keeps_its_isolation_key() -> None:
    d = {"score": 0, "max_score": 1, "tests": [], "isolation": "process+landlock+seccomp"}
    results = Results.from_dict(d)
    assert results.confinement == Confinement("process", ("landlock", "seccomp"))
    assert results.to_dict() == d


def test_only_the_three_requests_are_asked() -> None:
    assert REQUESTS == ("auto", "bwrap", "process") and as_request("process") == "process"
    with pytest.raises(ValueError):
        as_request("bwrap+seccomp")  # a recorded confinement is not a request
