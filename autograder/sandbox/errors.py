"""What can go wrong with the student's process, as the judge raises it.

A StudentError's `str()` is the Japanese message shown to the student; the graders let it fail a
test and the judge's plugin turns it into that test's message.
"""

from __future__ import annotations


class StudentError(Exception):
    """Something the student's code did; `str()` is the Japanese message for the student."""


class StudentTimeout(StudentError):
    pass


class StudentCrashed(StudentError):
    pass


class OverBudget(StudentTimeout):
    """The part's wall-clock budget is spent."""


class SubmissionOverBudget(OverBudget):
    """The whole submission's wall-clock budget is spent: what is left scores 0."""


class Missing(StudentError):
    """A class, variable or attribute the judge asked for does not exist."""


class LoadInterrupted(Exception):
    """A cell hung or killed the process; `at` is (statement index, line) of the last one started."""

    def __init__(self, timeout: bool, at: tuple[int, int] | None, slow: bool = False):
        """slow: cut at budget.SLOW_STATEMENT (the cells' share of the budget is spent), not a hang."""
        super().__init__(timeout, at)
        self.timeout, self.at, self.slow = timeout, at, slow
