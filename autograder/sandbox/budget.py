"""Wall-clock budgets: one for the whole submission, one for the part being graded inside it.

One PartBudget belongs to each StudentProcess (`proc.budget`). The judge starts the submission's
clock when a grade begins (`start_submission()`): every wait for the student from then on (each cell
as it loads or re-runs after a restart, a new zygote, a part's fork, every call) ends at the latest
when SUBMISSION_BUDGET seconds are spent, and whatever is left then scores 0 with the reason.

The judge's plugin runs every test of a part within `proc.budget.until(deadline)`; the part's
session shortens its waits for the student to what is left, and the judge's own long loops (central
differences, an exercise's re-run) call `check()`. Code with no handle on the process (the
reference computations of the graders) checks whichever budget is running through `check_running()`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from . import messages as say
from .errors import OverBudget, SubmissionOverBudget

PART_BUDGET = 30.0  # seconds per graded part (read when a PartBudget is made)
# Seconds for one whole submission, loading and restarts included. A correct one takes 0.4-0.9 s and the
# slowest of the 68 honest mistakes of tests/bugs/catalog.py 2.1 s (README, Budgets): 60 s is far above
# both and twice a part's budget, so one slow part still leaves time for the others, while a submission
# built to stall (slow cell after slow cell, restart after restart) stops at 60 s, not 17 minutes.
# These three are read when a PartBudget is made.
SUBMISSION_BUDGET = 60.0
# Seconds of running the submission's cells (loading, and re-running them after each restart) before
# loading turns strict: from then on a top-level statement that takes over SLOW_STATEMENT seconds is
# skipped like a hang, and one that took that long before is skipped when its cell runs again. So a
# submission whose cells stall still has most of its budget for its parts.
CELLS_BUDGET = 20.0
SLOW_STATEMENT = 1.0


class PartBudget:
    def __init__(self, seconds: float | None = None, submission_seconds: float | None = None):
        self.seconds = PART_BUDGET if seconds is None else seconds
        self.submission_seconds = SUBMISSION_BUDGET if submission_seconds is None else submission_seconds
        self.cells_seconds, self.slow_statement = CELLS_BUDGET, SLOW_STATEMENT
        self.deadline: float | None = None  # of the part being graded
        self.limit: float | None = None  # the end of the whole submission's budget

    def start_submission(self) -> None:
        """Start the whole submission's clock (once: a grade that is handed a process keeps its clock)."""
        if self.limit is None:
            self.limit = time.monotonic() + self.submission_seconds

    def deadline_from_now(self) -> float:
        return time.monotonic() + self.seconds

    @contextmanager
    def until(self, deadline: float | None) -> Iterator[PartBudget]:
        """Within the block, student calls and the judge's own loops end at `deadline` (or at the
        end of the submission's budget, if sooner)."""
        saved, self.deadline = self.deadline, deadline
        token = _running.set(self)
        try:
            yield self
        finally:
            _running.reset(token)
            self.deadline = saved

    def end(self) -> float | None:
        """The earlier of the part's deadline and the submission's."""
        ends = [t for t in (self.deadline, self.limit) if t is not None]
        return min(ends) if ends else None

    def time_left(self) -> float | None:
        end = self.end()
        return None if end is None else end - time.monotonic()

    def submission_ends_first(self) -> bool:
        """The submission's budget, not the part's, is the one that ends first."""
        return self.limit is not None and (self.deadline is None or self.limit <= self.deadline)

    def spent(self) -> bool:
        """The whole submission's budget is used up."""
        return self.limit is not None and time.monotonic() >= self.limit

    def submission_message(self) -> str:
        return say.submission_budget_spent(self.submission_seconds)

    def message(self) -> str:
        if self.submission_ends_first():
            return self.submission_message()
        return say.part_budget_spent(self.seconds)

    def error(self) -> OverBudget:
        """The exception for a budget that ran out: which one, with its message."""
        if self.submission_ends_first():
            return SubmissionOverBudget(self.submission_message())
        return OverBudget(self.message())

    def check(self) -> None:
        end = self.end()
        if end is not None and time.monotonic() > end:
            raise self.error()

    def check_submission(self) -> None:
        """Raise SubmissionOverBudget once the whole submission's budget is spent."""
        if self.spent():
            raise SubmissionOverBudget(self.submission_message())

    def wait_until(self, deadline: float) -> float:
        """`deadline`, or the end of the submission's budget if that comes first."""
        return deadline if self.limit is None else min(deadline, self.limit)


_running: ContextVar[PartBudget | None] = ContextVar("running_part_budget", default=None)


def check_running() -> None:
    """PartBudget.check of the budget running in this context, if any."""
    budget = _running.get()
    if budget is not None:
        budget.check()
