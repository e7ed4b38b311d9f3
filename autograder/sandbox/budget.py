"""The wall-clock budget of the part being graded: judge and student time together.

One PartBudget belongs to each StudentProcess (`proc.budget`). The judge's plugin runs every test of
a part within `proc.budget.until(deadline)`; the part's session shortens its waits for the student to
what is left, and the judge's own long loops (central differences, an exercise's re-run) call
`check()`. Code with no handle on the process (the reference computations of the graders) checks
whichever budget is running through `check_running()`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import OverBudget

PART_BUDGET = 30.0  # seconds per graded part (read when a PartBudget is made)


class PartBudget:
    def __init__(self, seconds: float | None = None):
        self.seconds = PART_BUDGET if seconds is None else seconds
        self.deadline: float | None = None

    def deadline_from_now(self) -> float:
        return time.monotonic() + self.seconds

    @contextmanager
    def until(self, deadline: float | None) -> Iterator[PartBudget]:
        """Within the block, student calls and the judge's own loops end at `deadline`."""
        saved, self.deadline = self.deadline, deadline
        token = _running.set(self)
        try:
            yield self
        finally:
            _running.reset(token)
            self.deadline = saved

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def message(self) -> str:
        return (
            f"この部分の採点が制限時間（{self.seconds:g} 秒）を超えたため打ち切りました。配列や設定が課題より"
            "大きすぎないか、処理が遅すぎないかを確認してください。この部分の残りのテストは実行できません"
        )

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OverBudget(self.message())


_running: ContextVar[PartBudget | None] = ContextVar("running_part_budget", default=None)


def check_running() -> None:
    """PartBudget.check of the budget running in this context, if any."""
    budget = _running.get()
    if budget is not None:
        budget.check()
