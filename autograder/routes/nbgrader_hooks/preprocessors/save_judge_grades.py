"""`c.Autograde.autograde_preprocessors`: SaveJudgeGrades."""

from __future__ import annotations

from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import SaveAutoGrades

from ....results import Results


class SaveJudgeGrades(SaveAutoGrades):  # type: ignore[misc]  # nbgrader ships no types
    """nbgrader's SaveAutoGrades (in its place in `Autograde.autograde_preprocessors`), with the
    judge's full results (JudgeScores put them in the resources) written to the kit's journal in
    the same transaction as the scores: nbgrader's own commits after every cell, so a crash could
    leave a submission half scored; here its scores and results are committed once, together.
    For an assignment the judge does not grade, it is nbgrader's SaveAutoGrades, unchanged."""

    _journals: set[str]  # the databases whose journal this instance has created or migrated

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._journals = set()

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        from nbgrader.api import Gradebook

        from ..gradebook import create_journal, journal_row, write_journal
        from .plain import judged_notebook

        if not judged_notebook(resources):
            return super().preprocess(nb, resources)  # type: ignore[no-any-return]
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id, self.student_id = info["notebook"], info["assignment"], info["student"]
        self.db_url = info["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            if self.db_url not in self._journals:  # once per database and autograde run
                create_journal(self.gradebook.engine)
                self._journals.add(self.db_url)
            session = self.gradebook.db
            commit, session.commit = session.commit, session.flush  # SaveAutoGrades commits per cell
            try:
                nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)  # its cells, not its commits
                if "judge_results" in info:
                    results = Results.from_dict(info["judge_results"])
                    row = journal_row(self.assignment_id, self.student_id, info["judge_sha256"], results, "nbgrader")
                    write_journal(session, row)
                commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                del session.commit  # the scoped session's own again
        return nb, resources


# A test cell's line announcing a pass (`print("✓ Linear.backward: 可視テストに合格しました")`, in
# releases before the check functions printed it themselves): above a failing score it misleads.
