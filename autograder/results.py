"""The judge's results, one typed model for every route (CLI report, nbgrader, batch, gradebook).

    results = Results.empty(rubric, "理由", confinement)    # a submission that could not be graded
    results.part_scores()                                   # {part: points}, the only place they are summed
    text = results.to_json(); Results.from_json(text)       # the Gradescope-shaped file, byte for byte

Inside a process a grade is always a Results; JSON only where it leaves one (from_json/to_json, and
from_dict/to_dict where a container holds the dict: nbgrader's metadata, the gradebook). On disk (and
between the batch's processes) it is the Gradescope-shaped dict: score, max_score,
tests (name, part, score, max_score, status, output), isolation (the Confinement), and, when present, problems,
notes, output and diagnoses (the assignment's public diagnosis, e.g. nb74's public/diagnosis.py: which mistake a failing gradient shows). Values keep the types they were built with (an int stays an int), so a results
file read and written again is byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from .course.assignment import Rubric
from .course.messages import GRADER_ERROR_MESSAGE

PASSED, FAILED = "passed", "failed"
# A test the kit could not grade: its grader raised (not a check of the student's code failing),
# or the graders and the rubric disagree. The kit's failure, never the student's: no route
# records a score for such a part (grade exits EXIT_GRADER_ERROR, the batch and nbgrader record
# nothing for the submission, Gradescope exits non-zero).
GRADER_ERROR = "grader_error"


@dataclass(frozen=True)
class Confinement:
    """What the sandbox achieved, as the results record it (their "isolation" field): the level the
    student process ran at and each layer it confirmed when it started, "bwrap+seccomp" or
    "process+uid-nobody+landlock+seccomp" (README, Isolation). What was asked is another thing:
    autograder.sandbox.levels.IsolationRequest."""

    level: str  # "bwrap" or "process"; unconfirmed(): what stands in for it
    layers: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "+".join((self.level, *self.layers))

    @classmethod
    def parse(cls, text: str) -> Confinement:
        level, *layers = text.split("+")
        return cls(level, tuple(layers))

    @classmethod
    def unconfirmed(cls, known: str) -> Confinement:
        """No student process confirmed anything (the submission was graded 0 before one ran, or
        its worker died): what is known stands in for the level, the level asked for ("auto",
        "bwrap", "process") or "?" or "none", with no layer."""
        return cls(known)


@dataclass(frozen=True)
class TestName:
    """A test's name in the results: its part's title and the grader's case, as the results file
    writes it ("Linear.backward :: test_gradients[N1_Din3_Dout2]"), or the title alone for a part
    whose graders did not run (or a submission that could not be graded). Made here, written by
    str() and read back by parse(), nowhere else."""

    __test__ = False  # not a pytest test class

    SEPARATOR: ClassVar[str] = " :: "
    title: str  # the part's title (rubric.toml), "Linear.backward"
    case: str = ""  # the grader's case as pytest names it, "test_gradients[N1_Din3_Dout2]"; "" for a whole part

    def __str__(self) -> str:
        return f"{self.title}{self.SEPARATOR}{self.case}" if self.case else self.title

    @classmethod
    def parse(cls, name: str) -> TestName:
        title, _, case = name.partition(cls.SEPARATOR)
        return cls(title, case)

    @property
    def test(self) -> str:
        """The grader test the case is of ("test_gradients"; "" for a whole part): the rubric's
        points are per test, shared among its cases."""
        return self.case.partition("[")[0]


@dataclass(frozen=True)
class TestResult:
    """One grader test (or a part that could not be graded) with the points it earned."""

    __test__ = False  # not a pytest test class, whatever imports it

    name: TestName
    part: str
    score: float
    max_score: float
    status: str  # PASSED, FAILED or GRADER_ERROR
    output: str  # the Japanese message shown to the student

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": str(self.name),
            "part": self.part,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "output": self.output,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TestResult:
        return cls(TestName.parse(d["name"]), d["part"], d["score"], d["max_score"], d["status"], d["output"])


@dataclass(frozen=True)
class Diagnosis:
    """Which mistake a part's failing gradient shows (an assignment's public Finding, e.g. nb74's public/findings.py, with its part)."""

    part: str  # the rubric part key
    quantity: str  # "dW", "db", "dx", "dL/dy", ...
    code: str  # "transposed", "scale", "sign", ..., "unknown"
    message: str  # Japanese: the likely mistake and the formula to check
    factor: float | None = None
    factor_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "quantity": self.quantity,
            "code": self.code,
            "factor": self.factor,
            "factor_name": self.factor_name,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Diagnosis:
        return cls(d["part"], d["quantity"], d["code"], d["message"], d.get("factor"), d.get("factor_name"))


@dataclass(frozen=True)
class Picture:
    """A failing part's gradient on the visible test's public inputs, beside the right one
    (autograder/judge/pictures.py); the feedback draws them (the assignment's public/heatmaps.py)."""

    part: str
    quantity: str
    got: list[Any]  # nested lists of floats, as JSON keeps them
    expected: list[Any]

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "quantity": self.quantity, "got": self.got, "expected": self.expected}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Picture:
        return cls(d["part"], d["quantity"], d["got"], d["expected"])


@dataclass(frozen=True)
class Results:
    """A whole submission's grade."""

    score: float
    max_score: float
    tests: tuple[TestResult, ...]
    confinement: Confinement  # the "isolation" key of the file
    problems: tuple[str, ...] | None = None  # None: no "problems" key (built by build_results alone)
    notes: tuple[str, ...] = ()  # the batch's notes on the submission ("notes" key only when any)
    output: str | None = None  # a grading problem's message (empty results only)
    diagnoses: tuple[Diagnosis, ...] = ()  # ("diagnoses" key only when any)
    pictures: tuple[Picture, ...] = ()  # ("pictures" key only when any)

    @classmethod
    def empty(cls, rubric: Rubric, message: str, confinement: Confinement) -> Results:
        """0 points on every part, with why: the submission could not be graded at all."""
        tests = tuple(
            TestResult(TestName(p.title), p.name, 0.0, p.points, FAILED, message) for p in rubric.parts.values()
        )
        return cls(0.0, rubric.max_score, tests, confinement, problems=(message,), output=message)

    @classmethod
    def grader_failure(cls, rubric: Rubric, confinement: Confinement) -> Results:
        """Every part a grading error: the judge itself failed (the kit's failure, no score)."""
        tests = tuple(
            TestResult(TestName(p.title), p.name, 0.0, p.points, GRADER_ERROR, GRADER_ERROR_MESSAGE)
            for p in rubric.parts.values()
        )
        return cls(0.0, rubric.max_score, tests, confinement, problems=())

    # -- reading -------------------------------------------------------------------------------

    def part_tests(self, part: str) -> list[TestResult]:
        return [t for t in self.tests if t.part == part]

    def part_scores(self) -> dict[str, float]:
        """Points per part, summed in the tests' order (every route shows these sums)."""
        scores: dict[str, float] = {}
        for t in self.tests:
            scores[t.part] = scores.get(t.part, 0.0) + t.score
        return scores

    def reasons(self, part: str) -> list[str]:
        """The distinct messages of the part's failed tests, in order."""
        return list(dict.fromkeys(t.output for t in self.tests if t.part == part and not t.passed))

    def part_diagnoses(self, part: str) -> list[Diagnosis]:
        return [d for d in self.diagnoses if d.part == part]

    def part_pictures(self, part: str) -> list[Picture]:
        return [p for p in self.pictures if p.part == part]

    def messages(self) -> list[str]:
        """Submission-level messages: the batch's notes, then the problems."""
        return [*self.notes, *(self.problems or ())]

    @property
    def refused(self) -> bool:
        """Graded 0 without reading the notebook (refused by the intake, or the judge failed)."""
        return bool(self.problems) and self.output in (self.problems or ())

    @property
    def grader_errors(self) -> list[str]:
        """The parts the kit could not grade (status GRADER_ERROR), in order: no score may be
        recorded for them."""
        return list(dict.fromkeys(t.part for t in self.tests if t.status == GRADER_ERROR))

    @property
    def failed(self) -> bool:
        """Could not be graded normally (unreadable, crashed, hung...)."""
        return bool(self.problems)

    def with_notes(self, notes: Iterable[str]) -> Results:
        return replace(self, notes=(*self.notes, *notes))

    # -- the file format -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "score": self.score,
            "max_score": self.max_score,
            "tests": [t.to_dict() for t in self.tests],
            "isolation": str(self.confinement),
        }
        if self.problems is not None:
            d["problems"] = list(self.problems)
        if self.notes:
            d["notes"] = list(self.notes)
        if self.output is not None:
            d["output"] = self.output
        if self.diagnoses:
            d["diagnoses"] = [x.to_dict() for x in self.diagnoses]
        if self.pictures:
            d["pictures"] = [x.to_dict() for x in self.pictures]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Results:
        problems = d.get("problems")
        return cls(
            d["score"],
            d["max_score"],
            tuple(TestResult.from_dict(t) for t in d["tests"]),
            Confinement.parse(d.get("isolation", "?")),
            problems=None if problems is None else tuple(problems),
            notes=tuple(d.get("notes", ())),
            output=d.get("output"),
            diagnoses=tuple(Diagnosis.from_dict(x) for x in d.get("diagnoses", ())),
            pictures=tuple(Picture.from_dict(x) for x in d.get("pictures", ())),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Results:
        return cls.from_dict(json.loads(text))
