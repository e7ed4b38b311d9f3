"""Writing the judge's results into nbgrader's gradebook, one submission per transaction.

The gradebook stays nbgrader's (any database URL nbgrader accepts). Beside its tables we keep one
of ours, `nb74_judge_runs`: which content (sha256) of each student's submission was graded. It is
written in the same transaction as the scores, so after a crash a submission is either fully
recorded with its hash or will be graded again: never lost, never counted twice.
"""

from __future__ import annotations

import warnings
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, select

from .assignment import Rubric, load_rubric
from .nbgrader_ext import part_feedback
from .nbgrader_glue import use_nbgrader_env
from .results import Results

JOURNAL = Table(
    "nb74_judge_runs",
    MetaData(),
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("score", Float, nullable=False),
)


class JudgeGradebook:
    """nbgrader's Gradebook plus the journal of graded contents."""

    def __init__(self, db_url: str, course_id: str = "", rubric: Rubric | None = None):
        use_nbgrader_env()
        from nbgrader.api import Gradebook

        self.gb = Gradebook(db_url, course_id)
        self.rubric = rubric or load_rubric()
        JOURNAL.metadata.create_all(self.gb.engine)

    def close(self) -> None:
        self.gb.close()

    def __enter__(self) -> JudgeGradebook:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def check_assignment(self, assignment: str) -> None:
        from nbgrader.api import MissingEntry

        try:
            self.gb.find_assignment(assignment)
        except MissingEntry:
            raise SystemExit(
                f"assignment {assignment!r} is not in the gradebook: run "
                f"`nbgrader generate_assignment {assignment}` first"
            ) from None

    def graded(self, assignment: str) -> dict[str, str]:
        """student -> sha256 of the content whose grades are recorded."""
        rows = self.gb.db.execute(select(JOURNAL.c.student, JOURNAL.c.sha256).where(JOURNAL.c.assignment == assignment))
        return {student: sha for student, sha in rows}

    def rollback(self) -> None:
        """Forget a half-written submission (the session stays usable for the next one)."""
        self.gb.db.rollback()

    def record(
        self, assignment: str, student: str, sha256: str, results: Results, timestamp: str | None = None
    ) -> None:
        """Scores and feedback comments of one submission, and its hash, in one commit; on any
        error nothing of it is kept (rolled back) and the error is raised."""
        try:
            self._record(assignment, student, sha256, results, timestamp)
        except BaseException:
            self.rollback()
            raise

    def _record(self, assignment: str, student: str, sha256: str, results: Results, timestamp: str | None) -> None:
        from nbgrader.api import MissingEntry

        gb, notebook = self.gb, self.rubric.notebook
        try:
            gb.find_student(student)
        except MissingEntry:
            gb.add_student(student)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        with warnings.catch_warnings():  # nbgrader's add_submission trips a harmless SAWarning
            warnings.simplefilter("ignore")
            gb.update_or_create_submission(assignment, student, **kwargs)
        scores = results.part_scores()
        messages = results.messages()
        first = True
        for part in self.rubric.parts.values():
            grade = gb.find_grade(part.test_cell, notebook, assignment, student)
            grade.auto_score = min(round(scores.get(part.name, 0.0), 6), part.points)
            grade.needs_manual_grade = False
            if part.answer_cell:
                comment = gb.find_comment(part.answer_cell, notebook, assignment, student)
                comment.auto_comment = part_feedback(results, part.name)
                if first and messages:  # submission-level messages go with the first answer
                    comment.auto_comment = "".join(f"{m}\n" for m in messages) + comment.auto_comment
                first = False
        where = (JOURNAL.c.assignment == assignment) & (JOURNAL.c.student == student)
        gb.db.execute(delete(JOURNAL).where(where))
        gb.db.execute(
            insert(JOURNAL).values(assignment=assignment, student=student, sha256=sha256, score=float(results.score))
        )
        gb.db.commit()

    def snapshot(self, assignment: str) -> dict[str, Any]:
        """Everything the batch writes, for comparing two gradebooks (tests, benchmarks)."""
        out: dict[str, Any] = {}
        graded = self.graded(assignment)
        for sub in self.gb.assignment_submissions(assignment):
            nb = sub.notebooks[0] if sub.notebooks else None
            out[sub.student_id] = {
                "sha256": graded.get(sub.student_id),
                "grades": sorted((g.name, g.auto_score, g.manual_score) for g in (nb.grades if nb else [])),
                "comments": sorted((c.name, c.auto_comment) for c in (nb.comments if nb else [])),
            }
        return out
