"""What a class got wrong, counted from its submissions' results (autograder.reports.graded).

    failure_shares(cls)     per grader test: how many of the graded submissions fail it
    diagnosis_groups(cls)   per part: which mistake (diagnosis code) how many students share
    grading_problems(cls)   submissions that could not be graded normally, and why

Pure functions over the loaded class: the HTML page and the CSV files show the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..course.assignment import Assignment, Rubric
from ..results import TestName
from . import messages as say
from .graded import Graded


@dataclass(frozen=True)
class TestShare:
    """One grader test and the graded submissions that fail it."""

    __test__ = False  # not a pytest class

    part: str
    name: TestName
    students: tuple[str, ...]  # who fails it
    graded: int  # how many submissions were graded (the denominator)

    @property
    def share(self) -> float:
        return len(self.students) / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class DiagnosisGroup:
    """The students whose results carry the same diagnosis of the same quantity in a part."""

    part: str
    quantity: str
    code: str
    factor_name: str | None
    messages: dict[str, tuple[str, ...]]  # the judge's message -> the students it was given to
    label: str = ""  # what the report calls this diagnosis, in Japanese (the assignment's diagnosis_label)

    @property
    def students(self) -> tuple[str, ...]:
        return tuple(sorted({s for group in self.messages.values() for s in group}))


@dataclass(frozen=True)
class Problem:
    student: str
    kind: str  # 採点できず / 採点の問題 / 注記 / 記録の問題
    reason: str


def graded(cls: list[Graded]) -> list[Graded]:
    """The submissions the judge graded test by test (not refused, results recorded)."""
    return [g for g in cls if g.results is not None and not g.results.refused]


def failure_shares(cls: list[Graded], rubric: Rubric) -> list[TestShare]:
    """Every grader test, in rubric order, with who fails it; the most failed first within a part."""
    done = graded(cls)
    failing: dict[tuple[str, TestName], list[str]] = {}
    for g in done:
        assert g.results is not None
        for t in g.results.tests:
            failing.setdefault((t.part, t.name), [])
            if not t.passed:
                failing[(t.part, t.name)].append(g.student)
    order = {name: i for i, name in enumerate(rubric.parts)}
    rows = [TestShare(part, name, tuple(sorted(s)), len(done)) for (part, name), s in failing.items()]
    return sorted(rows, key=lambda r: (order.get(r.part, len(order)), -len(r.students), str(r.name)))


def diagnosis_groups(cls: list[Graded], assignment: Assignment) -> list[DiagnosisGroup]:
    """Per part (rubric order), each (quantity, code) with its students, largest first. A student
    counts once per group, however many of their tests showed it. Labelled by the assignment's own
    words (its public/findings.py: diagnosis_label(code, quantity, factor_name))."""
    rubric = assignment.rubric
    found: dict[tuple[str, str, str, str | None], dict[str, set[str]]] = {}
    for g in cls:
        for d in g.results.diagnoses if g.results is not None else ():
            key = (d.part, d.quantity, d.code, d.factor_name)
            found.setdefault(key, {}).setdefault(d.message, set()).add(g.student)
    groups = []
    for (part, quantity, code, factor_name), by_message in found.items():
        messages = {m: tuple(sorted(s)) for m, s in sorted(by_message.items(), key=lambda kv: (-len(kv[1]), kv[0]))}
        label = assignment.public("findings").diagnosis_label(code, quantity, factor_name)
        groups.append(DiagnosisGroup(part, quantity, code, factor_name, messages, str(label)))
    order = {name: i for i, name in enumerate(rubric.parts)}
    return sorted(groups, key=lambda x: (order.get(x.part, len(order)), -len(x.students), x.quantity, x.code))


def grading_problems(cls: list[Graded]) -> list[Problem]:
    """Refused or crashed submissions, the batch's and intake's notes (renamed cells, several
    notebooks, links...), and results out of step with the gradebook: by student."""
    out = []
    for g in cls:
        if g.out_of_step:
            out.append(Problem(g.student, say.OUT_OF_STEP_KIND, g.out_of_step))
        if g.results is None:
            continue
        kind = say.REFUSED_KIND if g.results.refused else say.PROBLEM_KIND
        out += [Problem(g.student, kind, p) for p in g.results.problems or ()]
        out += [Problem(g.student, say.NOTE_KIND, n) for n in g.results.notes]
    return out


def problem_groups(problems: list[Problem]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(kind, reason, students) for the page: a class's refusals often share one reason."""
    groups: dict[tuple[str, str], list[str]] = {}
    for p in problems:
        groups.setdefault((p.kind, p.reason), []).append(p.student)
    rows = [(kind, reason, tuple(sorted(set(s)))) for (kind, reason), s in groups.items()]
    return sorted(rows, key=lambda r: (-len(r[2]), r[0], r[1]))
