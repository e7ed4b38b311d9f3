"""nbgrader preprocessors of the kit, loaded by nbgrader_config.py (dotted paths)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import nbformat
from jinja2 import BaseLoader, FileSystemLoader, PrefixLoader
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades
from traitlets import Unicode, default

from ...course.assignment import load_rubric
from ...feedback.messages import part_feedback as part_feedback
from ...feedback.messages import part_label
from ...feedback.safe_html import clean_comment
from ...feedback.sanitize import sanitize_notebook
from ...intake.read import add_memo
from ...results import Results
from .glue import clear_hidden_tests

new_output = cast(Callable[..., NotebookNode], nbformat.v4.new_output)  # nbformat's is untyped


class StripSolutionMarkers(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader ships no types
    """Drop the `### BEGIN SOLUTION` / `### END SOLUTION` lines, keeping the code between them."""

    begin_solution_delimeter = Unicode("BEGIN SOLUTION").tag(config=True)
    end_solution_delimeter = Unicode("END SOLUTION").tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        lines = cell.source.split("\n")
        kept = [ln for ln in lines if self.begin_solution_delimeter not in ln and self.end_solution_delimeter not in ln]
        cell.source = "\n".join(kept)
        return cell, resources


def picture_outputs(results: Results, part: str, title: str) -> list[NotebookNode]:
    """The part's heatmaps (autograder/diagnosis/heatmaps.py) as PNG outputs, embedded in the notebook and so
    in its HTML: the student's gradient, the right one and their difference on the visible test's inputs."""
    pictures = results.part_pictures(part)
    if not pictures:
        return []
    import base64

    import numpy as np

    from ...diagnosis.heatmaps import alt_text, gradient_figure

    out = []
    for p in pictures:
        caption = f"{title}: {p.quantity}（可視テストの入力で）"
        png = gradient_figure(p.quantity, np.array(p.got, dtype=float), np.array(p.expected, dtype=float), caption)
        data = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<図: {caption}>"}
        meta = {"nb74": "judge-picture", "image/png": {"alt": alt_text(p.quantity, caption)}}
        out.append(new_output("display_data", data=data, metadata=meta))
    return out


def apply_results(nb: Any, results: Results) -> None:
    """Put the judge's verdict into a notebook, in place: each test cell's outputs become the
    part's messages and its score (a plain float, which nbgrader's determine_grade reads), and
    hidden tests are removed from the cell sources so that nothing downstream can show them.
    First the notebook is sanitized (autograder.feedback.sanitize): every code cell's outputs are dropped
    (only the judge's are written back), student markdown/raw cells and metadata are made inert."""
    sanitize_notebook(nb)
    rubric = load_rubric()
    by_part = results.part_scores()
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        part = rubric.part_for_test_cell(meta.get("grade_id", ""))
        if cell.get("cell_type") != "code" or part is None:
            continue
        score = min(round(by_part.get(part.name, 0.0), 6), float(meta.get("points", part.points)))
        cell["outputs"] = [
            new_output("stream", name="stdout", text=part_feedback(results, part.name)),
            *picture_outputs(results, part.name, part.title),
            new_output("execute_result", data={"text/plain": repr(float(score))}, execution_count=None),
        ]
        src = cell.get("source", "")
        cell["source"] = clear_hidden_tests("".join(src) if isinstance(src, list) else src)


class JudgeScores(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader ships no types
    """Replaces nbgrader's Execute in `Autograde.autograde_preprocessors`: no student code runs in
    nbgrader's kernel; the isolated judge decides every test cell's score."""

    isolation = Unicode("auto", help="auto, bwrap or process (see autograder.sandbox.launch)").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        import hashlib

        from ...judge.grade import grade
        from .intake import intake_notes

        graded = hashlib.sha256(nbformat.writes(nb).encode("utf-8", "replace")).hexdigest()  # type: ignore[no-untyped-call]
        results = grade(nb, isolation=self.isolation)
        apply_results(nb, results)
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
        self.log.info("judge: %s / %s (isolation %s)", results.score, results.max_score, results.isolation)
        return nb, resources


class SaveJudgeGrades(SaveAutoGrades):  # type: ignore[misc]  # nbgrader ships no types
    """nbgrader's SaveAutoGrades (in its place in `Autograde.autograde_preprocessors`), with the
    judge's full results (JudgeScores put them in the resources) written to the kit's journal in
    the same transaction as the scores: nbgrader's own commits after every cell, so a crash could
    leave a submission half scored; here its scores and results are committed once, together."""

    _journals: set[str]  # the databases whose journal this instance has created or migrated

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._journals = set()

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        from nbgrader.api import Gradebook

        from .gradebook import create_journal, journal_row, write_journal

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
PASS_PRINT = re.compile(r"^[ \t]*print\(.*合格.*\)[ \t]*(?:#.*)?(?:\n|$)", re.MULTILINE)


def without_pass_prints(source: str) -> str:
    return PASS_PRINT.sub("", source).rstrip("\n")


class SanitizeFeedback(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader ships no types
    """GenerateFeedback preprocessor, after GetGrades: nbgrader's feedback template renders markdown
    cells and gradebook comments (`nbgrader.comment`) with no sanitizer. The notebook is sanitized
    again (the judge's plain-text outputs kept), and each comment cleaned: an automatic one (the
    judge's messages and the batch's notes, which quote the student) is plain text, shown as such;
    the instructor's manual comment is Markdown, rendered and cleaned (autograder.feedback.safe_html)."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        self._remove_active_documents(resources)
        graded = [
            {k: c.metadata.nbgrader[k] for k in ("score", "comment") if k in c.metadata.nbgrader}
            if isinstance(c.get("metadata", {}).get("nbgrader"), dict)
            else {}
            for c in nb.cells
        ]
        manual = self._manual_comments(resources) if any("comment" in g for g in graded) else set()
        sanitize_notebook(nb, keep_text_outputs=True)
        for cell, got in zip(nb.cells, graded):
            if "nbgrader" not in cell.metadata:
                continue
            if cell.cell_type == "code" and not cell.metadata.nbgrader.get("solution"):
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
        nbgrader_intake.active_document) that nbgrader copied from autograded/: IntakeExporter
        keeps them out of autograded/, but a folder autograded otherwise (an older kit, by hand)
        may hold them, and the formgrader serves feedback/ too (SubmissionFilesHandler reaches the
        whole course root through an encoded "../"). The assignment's own files (in source/) and
        the feedback pages of its notebooks (<notebook>.html, written after this) stay."""
        from .intake import active_document

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


TEMPLATES = Path(__file__).resolve().parents[2] / "feedback" / "templates"
# MathJax 3 from PyPI's django-static-mathjax (its files only; Django is not needed): the combined
# TeX-to-SVG component, which draws every glyph itself (no font files to fetch, none blocked on file://)
MATHJAX_FILE = "tex-svg.js"
MATHJAX_CDN = "cdnjs.cloudflare.com/ajax/libs/mathjax"  # nbconvert's default, in nbgrader's header
MATHJAX_PLACE = "<!-- nb74: MathJax inlined here -->"  # the template's marker, replaced after rendering
FOLD_GIVEN_LINES = 40  # given code this long is folded in the feedback (the helpers: about 300 lines)
NO_ALT = 'alt="No description has been provided for this image"'  # nbconvert's, for an <img> without alt


def mathjax_script() -> str:
    """The MathJax component inlined into every feedback page: nbgrader's release_feedback hands a
    student the .html file alone, which then works from disk with no server and no network."""
    import mathjax  # type: ignore[import-untyped]  # django-static-mathjax: static files only

    js = (Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / MATHJAX_FILE).read_text(encoding="utf-8")
    if "</script" in js.lower():  # would end the inline <script> early
        raise ValueError(f"{MATHJAX_FILE} cannot be inlined")
    return js


class FeedbackExporter(HTMLExporter):
    """`GenerateFeedback.exporter_class`: nbgrader's HTML feedback, through the kit's template
    (autograder/feedback/templates/feedback): parts named by their rubric titles, Japanese labels, table
    borders and wrapped output lines, long given code folded, formulas drawn by a MathJax inlined
    in the page (mathjax_url = "", the default) or loaded from mathjax_url (a MathJax 3 component).
    nbgrader forces the template name "feedback" (its API does, for formgrader's sake), so the
    kit's file is found first by name and reaches nbgrader's own under the prefix "nbgrader/"."""

    @default("mathjax_url")
    def _inline_mathjax(self) -> str:
        return ""  # inline: nothing is fetched (nbconvert's default is a CDN)

    @default("extra_loaders")
    def _kit_loaders(self) -> list[BaseLoader]:
        import nbgrader

        nbgrader_templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
        return [
            FileSystemLoader(str(TEMPLATES / "feedback")),
            PrefixLoader({"nbgrader": FileSystemLoader(str(nbgrader_templates))}),
        ]

    def _init_resources(self, resources: Any) -> Any:
        resources = super()._init_resources(resources)  # type: ignore[no-untyped-call]  # nbconvert: untyped
        resources["nb74_titles"] = part_titles()
        resources["nb74_mathjax_place"] = MATHJAX_PLACE
        resources["nb74_fold_lines"] = FOLD_GIVEN_LINES
        return resources

    def from_notebook_node(  # type: ignore[override]  # as nbconvert's HTMLExporter
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        self.register_filter("nb74_fold_summary", fold_summary)  # type: ignore[no-untyped-call]
        html, out = super().from_notebook_node(nb, resources, **kw)
        html = html.replace(NO_ALT, 'alt="（説明のない画像）"')
        if MATHJAX_CDN in html:  # the template did not find nbgrader's MathJax block to replace
            raise ValueError("the feedback page would load MathJax from a CDN: nbgrader's template has changed")
        if not self.mathjax_url:  # after nbconvert's own parsing of the page: the script is 2 MB
            if MATHJAX_PLACE not in html:
                raise ValueError("the feedback template has no place for MathJax")
            html = html.replace(MATHJAX_PLACE, "<script>" + mathjax_script() + "</script>", 1)
        return html, out


def fold_summary(cell: Any) -> str:
    """The line shown in place of a folded cell: a markdown cell's first heading (else its first
    words), a code cell's first comment; plain text (the template escapes it)."""
    import html

    text = cell.get("source", "")
    text = "".join(text) if isinstance(text, list) else str(text)
    lines = [ln.strip() for ln in html.unescape(re.sub(r"<[^>]*>", " ", text)).split("\n") if ln.strip()]
    if cell.get("cell_type") == "markdown":
        heading = next((ln for ln in lines if ln.startswith("#")), None)
        first = heading.lstrip("#") if heading else (lines[0] if lines else "")
        first = re.sub(r"^[>\s]+|[*_`]", "", first).strip()  # the markup of a quote, bold, code
    else:
        first = lines[0].lstrip("#").strip() if lines else ""
    return first if len(first) <= 60 else first[:59] + "…"


def part_titles() -> dict[str, str]:
    """grade_id -> what the feedback calls that cell: the part's title and its section."""
    titles = {}
    for part in load_rubric().parts.values():
        label = part_label(part)
        titles[part.test_cell] = label
        if part.answer_cell:
            titles[part.answer_cell] = label
    return titles
