"""A class as the gradebook holds it: each submission's scores and the judge's results beside them.

    students = load_class(db_url, assignment)     # [Graded], by student id
    g.scores      {part: points}, as nbgrader counts them (a manual score overrides the judge's)
    g.results     the judge's results recorded with the scores (autograder.routes.nbgrader_hooks.gradebook), or None
    g.out_of_step why the two disagree, or "" (results that are not the ones the scores came from)

Read with two queries (nbgrader's grades joined to their cells, and the journal), not nbgrader's
per-submission objects, so a class of 1,000 loads in about a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..course import assignment as registry
from ..course.assignment import Rubric
from ..results import Results
from . import messages as say


@dataclass(frozen=True)
class Graded:
    student: str
    scores: dict[str, float]  # part -> points in the gradebook (manual score first, as nbgrader)
    results: Results | None
    out_of_step: str = ""

    @property
    def total(self) -> float:
        return sum(self.scores.values())


def recorded_score(results: Results, part: str, points: float) -> float:
    """The auto score the gradebook records for a part (autograder.routes.nbgrader_hooks.gradebook, SaveAutoGrades)."""
    return min(round(results.part_scores().get(part, 0.0), 6), points)


def check_in_step(rubric: Rubric, auto: dict[str, float | None], results: Results | None) -> str:
    if results is None:
        return say.NO_RESULTS
    for part in rubric.parts.values():
        want, got = recorded_score(results, part.name, part.points), auto.get(part.name)
        if got is None or abs(got - want) > 1e-6:
            return say.out_of_step(f"{part.title}: {got}", f"{want:g}")
    return ""


def load_class(db_url: str, assignment: str, progress: bool = False) -> list[Graded]:
    """Every submission of the assignment in the gradebook, with its judge results."""
    from nbgrader.api import Assignment, BaseCell, Grade, SubmittedAssignment, SubmittedNotebook
    from tqdm import tqdm

    from ..routes.nbgrader_hooks.gradebook import JudgeGradebook

    rubric = registry.assignment(assignment).rubric
    part_of = {p.test_cell: p.name for p in rubric.parts.values()}
    with JudgeGradebook(db_url) as book:
        book.check_assignment(assignment)
        rows = (
            book.gb.db.query(SubmittedAssignment.student_id, BaseCell.name, Grade.auto_score, Grade.score)
            .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
            .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
            .join(BaseCell, Grade.cell_id == BaseCell.id)
            .filter(Assignment.name == assignment)
            .all()
        )
        students: dict[str, tuple[dict[str, float], dict[str, float | None]]] = {}
        for student, cell, auto, score in rows:
            scores, autos = students.setdefault(student, ({}, {}))
            if cell in part_of:
                scores[part_of[cell]] = float(score or 0.0)
                autos[part_of[cell]] = auto
        documents = book.judge_documents(assignment)
    bar: Iterable[str] = tqdm(
        sorted(students), desc=say.LOADING, unit=say.PEOPLE, disable=not progress, dynamic_ncols=True
    )
    out = []
    for student in bar:
        scores, autos = students[student]
        doc = documents.get(student)
        results = Results.from_json(doc) if doc is not None else None
        out.append(Graded(student, scores, results, check_in_step(rubric, autos, results)))
    return out
