"""`c.Autograde.autograde_preprocessors`: IntakeNotes."""

from __future__ import annotations

from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from ..intake import intake_notes


class IntakeNotes(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader ships no types
    """`c.Autograde.autograde_preprocessors`, after SaveAutoGrades: the intake's notes (refused
    links, replaced characters, grade_ids not graded...) also go into the gradebook, as the
    batch records them: leading the first answer cell's comment. Only for the assignments the judge
    grades (the intake reads only theirs)."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        from .plain import judged_assignment

        assignment = judged_assignment(resources)
        if assignment is None:
            return nb, resources

        info = resources["nbgrader"]
        notes = intake_notes(self, info).notes
        first = next((p.answer_cell for p in assignment.rubric.parts.values() if p.answer_cell), None)
        if notes and first:
            with Gradebook(info["db_url"]) as gb:
                comment = gb.find_comment(first, info["notebook"], info["assignment"], info["student"])
                comment.auto_comment = "".join(f"{m}\n" for m in notes) + (comment.auto_comment or "")
                gb.db.commit()
        return nb, resources
