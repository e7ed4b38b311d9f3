"""`c.Autograde.autograde_preprocessors`: JudgeScores, and the verdict written into a notebook
(apply_results, also the batch's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ....course.assignment import Assignment
from ....feedback.messages import part_feedback
from ....feedback.sanitize import sanitize_notebook, trusted_texts
from ....intake.read import add_memo
from ....results import Results
from ....sandbox.levels import as_request
from .. import messages as say
from ..glue import clear_hidden_tests

new_output = cast(Callable[..., NotebookNode], nbformat.v4.new_output)  # nbformat's is untyped


def picture_outputs(results: Results, assignment: Assignment, part: str, title: str) -> list[NotebookNode]:
    """The part's heatmaps (the assignment's public/heatmaps.py) as PNG outputs, embedded in the notebook and so
    in its HTML: the student's gradient, the right one and their difference on the visible test's inputs."""
    pictures = results.part_pictures(part)
    if not pictures:
        return []
    import base64

    import numpy as np

    heatmaps = assignment.public("heatmaps")  # only an assignment whose judge draws pictures has it
    alt_text, gradient_figure = heatmaps.alt_text, heatmaps.gradient_figure
    out = []
    for p in pictures:
        caption = say.picture_caption(title, p.quantity)
        png = gradient_figure(p.quantity, np.array(p.got, dtype=float), np.array(p.expected, dtype=float), caption)
        data = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": say.picture_text(caption)}
        meta = {"nb74": "judge-picture", "image/png": {"alt": alt_text(p.quantity, caption)}}
        out.append(new_output("display_data", data=data, metadata=meta))
    return out


def apply_results(nb: Any, results: Results, assignment: Assignment) -> None:
    """Put the judge's verdict into a notebook, in place: each test cell's outputs become the
    part's messages and its score (a plain float, which nbgrader's determine_grade reads), and
    hidden tests are removed from the cell sources so that nothing downstream can show them.
    First the notebook is sanitized (autograder.feedback.sanitize): every code cell's outputs are dropped
    (only the judge's are written back), student markdown/raw cells and metadata are made inert."""
    sanitize_notebook(nb, trusted=trusted_texts(assignment))
    rubric = assignment.rubric
    by_part = results.part_scores()
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        part = rubric.part_for_test_cell(meta.get("grade_id", ""))
        if cell.get("cell_type") != "code" or part is None:
            continue
        score = min(round(by_part.get(part.name, 0.0), 6), float(meta.get("points", part.points)))
        cell["outputs"] = [
            new_output("stream", name="stdout", text=part_feedback(results, part.name, rubric)),
            *picture_outputs(results, assignment, part.name, part.title),
            new_output("execute_result", data={"text/plain": repr(float(score))}, execution_count=None),
        ]
        src = cell.get("source", "")
        cell["source"] = clear_hidden_tests("".join(src) if isinstance(src, list) else src)


class GradingError(RuntimeError):
    """A grader raised, or the graders and the rubric disagree: JudgeScores records no score for the
    submission. nbgrader's autograde then fails it as it fails a notebook it cannot grade (the
    error logged, the autograded notebook removed, the command's exit status 1), and the
    gradebook keeps no score of this grade: the instructor fixes the graders and runs autograde
    again. Not a partial grade: nbgrader's export and formgrader count a cell without a score as
    0, so the kit's failure would be charged to the student again."""


class JudgeScores(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader ships no types
    """Replaces nbgrader's Execute in `Autograde.autograde_preprocessors` for the assignments the
    judge grades: no student code runs in nbgrader's kernel; the isolated judge decides every test
    cell's score. A notebook of any other assignment passes through untouched (plain.py: nbgrader's
    own Execute grades it)."""

    isolation = Unicode("auto", help="auto, bwrap or process (see autograder.sandbox.launch)").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        import hashlib

        from ....judge.grade import grade
        from ....judge.messages import grader_error_report
        from ..intake import intake_notes
        from .plain import judged_assignment

        assignment = judged_assignment(resources)
        if assignment is None:
            return nb, resources
        graded = hashlib.sha256(nbformat.writes(nb).encode("utf-8", "replace")).hexdigest()  # type: ignore[no-untyped-call]
        results = grade(nb, assignment, isolation=as_request(self.isolation))
        if results.grader_errors:  # the kit's failure: nothing of this grade reaches the gradebook
            info = resources.get("nbgrader", {})
            report = grader_error_report(results)
            self.log.error("judge: %s / %s: %s", info.get("assignment"), info.get("student"), report)
            raise GradingError(report)
        apply_results(nb, results, assignment)
        info = resources.setdefault("nbgrader", {})
        # the intake's notes (a refused notebook graded as the release, renamed cells...) go to the
        # gradebook's comments (IntakeNotes) and, with the results, to the journal (SaveJudgeGrades)
        kept = results
        if self.parent is not None:
            taken = intake_notes(self, info)
            notes = [n for n in taken.notes if n != taken.refused]
            kept = results.with_notes(notes)
            if taken.refused:  # the release was graded in its place: a refusal, as the batch records it
                kept = replace(kept, problems=(*(kept.problems or ()), taken.refused), output=taken.refused)
        add_memo(nb, kept.messages())  # after apply_results, as the batch writes it (sanitizing would render it)
        info["judge_results"], info["judge_sha256"] = kept.to_dict(), graded
        self.log.info("judge: %s / %s (isolation %s)", results.score, results.max_score, results.confinement)
        return nb, resources
