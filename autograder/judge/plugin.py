"""The pytest plugin of the judge: grader outcomes -> rubric points and Japanese messages."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..course.assignment import Assignment
from ..course.messages import GRADER_ERROR_MESSAGE
from ..graders.session import GradingSession
from ..sandbox.errors import StudentCrashed, StudentError, StudentTimeout, SubmissionOverBudget
from ..sandbox.process import StudentProcess
from . import messages as say


def part_of_file(path: str | Path) -> str:
    """The rubric part a grader file grades: <the assignment's graders>/test_<part>.py."""
    return Path(path).stem.removeprefix("test_")


@dataclass
class TestOutcome:
    part: str
    test: str  # the grader test ("test_gradients"): the rubric gives its points
    case: str  # the test's case as pytest names it ("test_gradients[N1_Din3_Dout2]"): results.TestName's
    nodeid: str
    passed: bool
    message: str
    findings: tuple[Any, ...] = ()  # which mistake the failure shows: the assignment's findings (a Mismatch's)
    grader_error: bool = False  # the grader itself raised: the kit's failure, not a failed check


class JudgePlugin:
    """Collects pytest outcomes of the graders and maps them onto the rubric."""

    is_nb74_judge = True

    def __init__(
        self,
        proc: StudentProcess,
        assignment: Assignment,
        cell_problems: dict[str, str],
        cells: Sequence[tuple[str, str, bool]] = (),
        inputs_key: bytes | None = None,
        diagnosing: bool = True,
    ):
        self.proc, self.assignment, self.cell_problems = proc, assignment, cell_problems
        self.rubric = rubric = assignment.rubric
        # the graders' state for this submission
        self.grading_session = GradingSession(inputs_key, diagnosing=diagnosing)
        self.cells, self.loaded = list(cells), False
        self.outcomes: dict[str, TestOutcome] = {}
        self.cases: Counter[tuple[str, str]] = Counter()
        self.order = {name: i for i, name in enumerate(rubric.parts)}
        self.incidents: set[str] = set()  # hangs and crashes of the student's process
        self.cut_parts: set[str] = set()  # parts with tests left when the submission's budget ran out
        self.deadlines: dict[str, float] = {}  # per part: the end of its wall-clock budget
        self.interrupted = False  # Ctrl-C: pytest stops and reports a partial run
        # parts the kit cannot grade whatever the submission, with why (for the instructor): a grader
        # module that does not import, tests and rubric points that do not match
        self.broken_parts: dict[str, str] = {}

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        self.interrupted = True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        """Each part has a wall-clock budget (proc.budget) for all its tests, the judge's
        work included: student calls end at the deadline, the judge's long loops check it."""
        self.ensure_loaded()  # loading the cells is the submission's, not the first part's, time
        part = self.part_of(item)
        budget = self.proc.budget
        deadline = self.deadlines.setdefault(part, budget.deadline_from_now())
        with budget.until(deadline):
            budget.check()
            return (yield)

    def pytest_configure(self, config: pytest.Config) -> None:
        # failures are turned into messages here, not printed: skip pytest's costly source-parsing
        # tracebacks (about 80 ms per failed test)
        config.option.tbstyle = "native"

    def ensure_loaded(self) -> None:
        """Load the submission's cells into the student process, once, recording cell problems.
        The first test that needs the student calls it, so the student process finishes starting
        while pytest starts and collects."""
        if not self.loaded:
            self.loaded = True
            for outcome in self.proc.load(self.cells):
                if not outcome.ok:
                    self.cell_problems.setdefault(outcome.cell, outcome.message)

    @staticmethod
    def part_of(item: pytest.Item) -> str:
        return part_of_file(item.path)

    @staticmethod
    def test_name(item: pytest.Item) -> str:
        """The grader test an item is a case of (pytest's originalname; the name of an unparametrized one)."""
        return str(getattr(item, "originalname", None) or item.name)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # a grader module that does not import: its part cannot be graded
            part = part_of_file(report.fspath)
            self.broke(part, say.grader_does_not_import(report.nodeid, report.longreprtext))

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items.sort(key=lambda it: self.order.get(self.part_of(it), len(self.order)))
        for it in items:
            self.cases[(self.part_of(it), self.test_name(it))] += 1
        self.check_rubric()

    def check_rubric(self) -> None:
        """The graders as collected against the rubric's points, loudly (at every grade, before any
        test runs): a test with no points in the rubric, points for a test no grader defines, a
        grader module of no rubric part (every part then: the rubric does not describe the graders)."""
        collected: dict[str, set[str]] = defaultdict(set)
        for part, name in self.cases:
            collected[part].add(name)
        for part, names in collected.items():
            if part not in self.rubric.parts:
                for each in self.rubric.parts:
                    self.broke(each, say.no_rubric_part(part))
                continue
            priced = self.rubric.parts[part].tests
            for name in sorted(names - set(priced)):
                self.broke(part, say.no_points(part, name))
            for name in sorted(set(priced) - names):
                self.broke(part, say.no_grader(part, name))

    def broke(self, part: str, why: str) -> None:
        print(f"grader error: {why}", file=sys.stderr)
        self.broken_parts[part] = f"{self.broken_parts[part]}\n{why}" if part in self.broken_parts else why

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        failed_setup = report.when == "setup" and report.failed
        if report.when == "call" or failed_setup:
            message, error = ("OK", False) if report.passed else self.explain(call.excinfo, item)
            findings = () if report.passed or call.excinfo is None else getattr(call.excinfo.value, "findings", ())
            self.outcomes[item.nodeid] = TestOutcome(
                self.part_of(item),
                self.test_name(item),
                item.name,
                item.nodeid,
                report.passed,
                message,
                tuple(findings),
                error,
            )
        return report

    def explain(self, excinfo: pytest.ExceptionInfo[BaseException] | None, item: pytest.Item) -> tuple[str, bool]:
        """A failed test's message for the student, and whether the grader itself failed.

        The student's code runs in the student process: whatever it does comes back as a value or
        as a StudentError (an exception it raised, a hang, a crash), and a grader's check of it
        fails with an AssertionError. Any other exception, in the test or its fixtures' setup, is
        raised by the graders' own code: a grading error, never charged to the student."""
        if excinfo is None:
            return say.FAILED, False
        exc = excinfo.value
        if self.proc.budget.spent():  # whatever stopped it, the rest of the part was not graded
            self.cut_parts.add(self.part_of(item))
            if isinstance(exc, StudentError):  # a call or a restart cut by it: say so, once, in grade()
                return self.proc.budget.submission_message(), False
        if isinstance(exc, SubmissionOverBudget):
            self.cut_parts.add(self.part_of(item))
            return str(exc), False
        if isinstance(exc, (StudentTimeout, StudentCrashed)):
            self.incidents.add(str(exc))
        if not isinstance(exc, (AssertionError, StudentError)):
            # a fault of the grader itself: logged for staff, never a traceback for the student
            print(f"grader error in {item.nodeid}:\n{excinfo.getrepr(style='short')}", file=sys.stderr)
            return f"{GRADER_ERROR_MESSAGE}（{type(exc).__name__}）", True
        text = str(exc).split("\nassert ")[0].strip() or say.TEST_FAILED
        part = self.rubric.parts.get(self.part_of(item))
        if part and part.answer_cell in self.cell_problems:
            text = f"{self.cell_problems[part.answer_cell]}。{text}"
        return text, False

    def points(self, outcome: TestOutcome) -> float:
        part = self.rubric.parts[outcome.part]
        total = part.tests.get(outcome.test, 0.0)
        return total / max(1, self.cases[(outcome.part, outcome.test)])

    def parts_with_full_points(self) -> set[str]:
        by_part: dict[str, list[bool]] = defaultdict(list)
        for o in self.outcomes.values():
            by_part[o.part].append(o.passed)
        return {p for p, ok in by_part.items() if ok and all(ok)}
