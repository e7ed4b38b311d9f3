"""`c.GenerateFeedback.preprocessors`: SanitizeFeedback."""

from __future__ import annotations

import os
import re
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from ....feedback.safe_html import clean_comment
from ....feedback.sanitize import sanitize_notebook
from .. import messages as say

PASS_PRINT = re.compile(rf"^[ \t]*print\(.*{say.PASSED}.*\)[ \t]*(?:#.*)?(?:\n|$)", re.MULTILINE)


def without_pass_prints(source: str) -> str:
    return PASS_PRINT.sub("", source).rstrip("\n")


class SanitizeFeedback(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader ships no types
    """GenerateFeedback preprocessor, after GetGrades: nbgrader's feedback template renders markdown
    cells and gradebook comments (`nbgrader.comment`) with no sanitizer. The notebook is sanitized
    again (the judge's plain-text outputs kept), and each comment cleaned: an automatic one (the
    judge's messages and the batch's notes, which quote the student) is plain text, shown as such;
    the instructor's manual comment is Markdown, rendered and cleaned (autograder.feedback.safe_html).

    For an assignment the judge does not grade, nbgrader's Execute wrote the outputs: they are kept
    as they are (the exporter's sanitize_html cleans them, as nbgrader's feedback would show them),
    the assignment's own markdown (its source notebook's) is shown as it is, and the rest (the
    student's markdown, metadata, comments) is cleaned as above."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        from ....feedback.sanitize import trusted_texts
        from .plain import judged_assignment

        self._remove_active_documents(resources)
        judged = judged_assignment(resources)
        graded = [
            {k: c.metadata.nbgrader[k] for k in ("score", "comment") if k in c.metadata.nbgrader}
            if isinstance(c.get("metadata", {}).get("nbgrader"), dict)
            else {}
            for c in nb.cells
        ]
        manual = self._manual_comments(resources) if any("comment" in g for g in graded) else set()
        if judged is not None:
            sanitize_notebook(nb, keep_text_outputs=True, trusted=trusted_texts(judged))
        else:
            outputs = [c.get("outputs") for c in nb.cells]
            sanitize_notebook(nb, keep_text_outputs=True, trusted=self._own_texts(resources))
            for cell, kept in zip(nb.cells, outputs):
                if cell.cell_type == "code" and kept is not None:
                    cell.outputs = kept
        for cell, got in zip(nb.cells, graded):
            if "nbgrader" not in cell.metadata:
                continue
            if judged is not None and cell.cell_type == "code" and not cell.metadata.nbgrader.get("solution"):
                # the score nbgrader read at autograde time, a bare `Out[ ]: 3.2` on the page; the
                # heading and the judge's first line say it in words
                cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result"]
                if cell.metadata.nbgrader.get("grade"):
                    cell.source = without_pass_prints(cell.source)
            if "score" in got:  # from the gradebook
                cell.metadata.nbgrader["score"] = got["score"]
            if "comment" in got:
                gid = cell.metadata.nbgrader.get("grade_id")
                cell.metadata.nbgrader["comment"] = clean_comment(got["comment"], markdown=gid in manual) or None
        return nb, resources

    def _remove_active_documents(self, resources: ResourcesDict) -> None:
        """Delete from feedback/ the extra files a browser would run as a page (HTML, SVG, XML:
        nbgrader_hooks.intake.active_document) that nbgrader copied from autograded/: IntakeExporter
        keeps them out of autograded/, but a folder autograded otherwise (an older kit, by hand)
        may hold them, and the formgrader serves feedback/ too (SubmissionFilesHandler reaches the
        whole course root through an encoded "../"). The assignment's own files (in source/) and
        the feedback pages of its notebooks (<notebook>.html, written after this) stay."""
        from ..intake import active_document

        converter = getattr(self.parent, "parent", None)  # the exporter's parent: GenerateFeedback
        info = resources.get("nbgrader", {})
        if converter is None or not hasattr(converter, "_format_dest"):
            return
        dest = Path(converter._format_dest(info["assignment"], info["student"]))
        coursedir = converter.coursedir
        source = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"]))
        graded = Path(converter._format_source(info["assignment"], info["student"]))
        pages = {f"{p.stem}.html" for p in graded.glob("*.ipynb")}
        for top, _, files in os.walk(dest):
            for name in files:
                copy = Path(top, name)
                rel = copy.relative_to(dest)
                if not active_document(name) or (source / rel).is_file() or str(rel) in pages:
                    continue
                self.log.warning("removing %s: a page the formgrader would serve from its own origin", copy)
                copy.unlink()

    def _own_texts(self, resources: ResourcesDict) -> frozenset[str]:
        """The markdown and raw texts of the assignment's source notebook (shown as they are)."""
        from ....feedback.sanitize import notebook_texts

        converter = getattr(self.parent, "parent", None)
        info = resources.get("nbgrader", {})
        if converter is None or not hasattr(converter, "coursedir"):
            return frozenset()
        coursedir = converter.coursedir
        source = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"]))
        return notebook_texts(source / f"{info['notebook']}.ipynb")

    @staticmethod
    def _manual_comments(resources: ResourcesDict) -> set[str]:
        """grade_ids of the cells whose comment the instructor wrote (GetGrades shows either)."""
        from nbgrader.api import Gradebook, MissingEntry

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            try:
                nb = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            except MissingEntry:
                return set()
            return {c.name for c in nb.comments if c.manual_comment is not None}
