"""Writing the judge's results into nbgrader's gradebook, one submission per transaction.

The gradebook stays nbgrader's (any database URL nbgrader accepts). Beside its tables we keep one
of ours, `nb74_judge_runs`: which content (sha256) of each student's submission was graded, by
which route, and the judge's full results (scores per test, diagnoses, problems, isolation: the
class report reads them). It is written in the same transaction as the scores, so after a crash a
submission is either fully recorded with its hash and results or will be graded again: never
lost, never counted twice, never a score without its results.
"""

from __future__ import annotations

import warnings
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, Text, delete, insert, inspect, select, text
from sqlalchemy.engine import Engine

from ...course.assignment import assignment as find_assignment
from ...feedback.messages import part_feedback
from ...results import Results
from .glue import use_nbgrader_env

JOURNAL = Table(
    "nb74_judge_runs",
    MetaData(),
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("score", Float, nullable=False),
    Column("results", Text, nullable=True),  # Results.to_json() without pictures; NULL: recorded before it existed
    Column("route", String(16), nullable=True),  # "batch" or "nbgrader"
)
ADDED_COLUMNS = {"results": "TEXT", "route": "VARCHAR(16)"}  # columns later than the table's first version


def create_journal(engine: Engine) -> None:
    """The journal table, and the columns an older gradebook's journal lacks (ALTER TABLE ... ADD
    COLUMN, the same on SQLite and PostgreSQL). Its rows without results are graded again."""
    JOURNAL.metadata.create_all(engine)
    have = {c["name"] for c in inspect(engine).get_columns(JOURNAL.name)}
    with engine.begin() as conn:
        for name, sql_type in ADDED_COLUMNS.items():
            if name not in have:
                conn.execute(text(f"ALTER TABLE {JOURNAL.name} ADD COLUMN {name} {sql_type}"))


def results_text(results: Results) -> str:
    """What the journal keeps of a submission's results: all but the pictures (drawn from the
    public visible inputs for the student's feedback; the report does not need them)."""
    from dataclasses import replace

    return replace(results, pictures=()).to_json()


def journal_row(assignment: str, student: str, sha256: str, results: Results, route: str) -> dict[str, Any]:
    return {
        "assignment": assignment,
        "student": student,
        "sha256": sha256,
        "score": float(results.score),
        "results": results_text(results),
        "route": route,
    }


class JudgeGradebook:
    """nbgrader's Gradebook plus the journal of graded contents."""

    def __init__(self, db_url: str, course_id: str = ""):
        use_nbgrader_env()
        from nbgrader.api import Gradebook

        self.gb = Gradebook(db_url, course_id)
        create_journal(self.gb.engine)

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
        """student -> sha256 of the content whose grades and results are recorded (the nbgrader
        route hashes the notebook it read, never equal to the batch's hash: the batch grades again)."""
        rows = self.gb.db.execute(
            select(JOURNAL.c.student, JOURNAL.c.sha256).where(
                (JOURNAL.c.assignment == assignment) & JOURNAL.c.results.is_not(None)
            )
        )
        return {student: sha for student, sha in rows}

    def judge_documents(self, assignment: str) -> dict[str, str]:
        """student -> the judge's results (JSON) recorded with the student's scores (any route)."""
        rows = self.gb.db.execute(
            select(JOURNAL.c.student, JOURNAL.c.results).where(
                (JOURNAL.c.assignment == assignment) & JOURNAL.c.results.is_not(None)
            )
        )
        return {student: doc for student, doc in rows}

    def judge_results(self, assignment: str) -> dict[str, Results]:
        return {student: Results.from_json(doc) for student, doc in self.judge_documents(assignment).items()}

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

        rubric = find_assignment(assignment).rubric  # the judge's assignments only are recorded here
        gb, notebook = self.gb, rubric.notebook
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
        for part in rubric.parts.values():
            grade = gb.find_grade(part.test_cell, notebook, assignment, student)
            grade.auto_score = min(round(scores.get(part.name, 0.0), 6), part.points)
            grade.needs_manual_grade = False
            if part.answer_cell:
                comment = gb.find_comment(part.answer_cell, notebook, assignment, student)
                comment.auto_comment = part_feedback(results, part.name, rubric)
                if first and messages:  # submission-level messages go with the first answer
                    comment.auto_comment = "".join(f"{m}\n" for m in messages) + comment.auto_comment
                first = False
        write_journal(gb.db, journal_row(assignment, student, sha256, results, "batch"))
        gb.db.commit()

    def snapshot(self, assignment: str) -> dict[str, Any]:
        """Everything the batch writes, for comparing two gradebooks (tests, benchmarks)."""
        out: dict[str, Any] = {}
        graded, results = self.graded(assignment), self.judge_results(assignment)
        for sub in self.gb.assignment_submissions(assignment):
            nb = sub.notebooks[0] if sub.notebooks else None
            out[sub.student_id] = {
                "sha256": graded.get(sub.student_id),
                "grades": sorted((g.name, g.auto_score, g.manual_score) for g in (nb.grades if nb else [])),
                "comments": sorted((c.name, c.auto_comment) for c in (nb.comments if nb else [])),
                "results": results[sub.student_id].to_dict() if sub.student_id in results else None,
            }
        return out


def write_journal(session: Any, row: dict[str, Any]) -> None:
    """Replace a student's journal row, in the caller's transaction (the caller commits)."""
    where = (JOURNAL.c.assignment == row["assignment"]) & (JOURNAL.c.student == row["student"])
    session.execute(delete(JOURNAL).where(where))
    session.execute(insert(JOURNAL).values(**row))
