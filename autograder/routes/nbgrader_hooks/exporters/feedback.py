"""`c.GenerateFeedback.exporter_class`: FeedbackExporter, the feedback page in the kit's template."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, FileSystemLoader, PrefixLoader
from nbconvert.exporters import HTMLExporter
from nbformat.notebooknode import NotebookNode
from traitlets import default

from ....course.assignment import Rubric
from ....feedback.messages import part_label
from .. import messages as say
from ..preprocessors.plain import judged_assignment

TEMPLATES = Path(__file__).resolve().parents[3] / "feedback" / "templates"
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
        # the rubric's titles for the judge's assignment (or a page made outside nbgrader), not another's
        judged = judged_assignment(resources)
        resources["nb74_titles"] = part_titles(judged.rubric) if judged is not None else {}
        resources["nb74_mathjax_place"] = MATHJAX_PLACE
        resources["nb74_fold_lines"] = FOLD_GIVEN_LINES
        return resources

    def from_notebook_node(  # type: ignore[override]  # as nbconvert's HTMLExporter
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        self.register_filter("nb74_fold_summary", fold_summary)  # type: ignore[no-untyped-call]
        html, out = super().from_notebook_node(nb, resources, **kw)
        html = html.replace(NO_ALT, f'alt="{say.NO_ALT}"')
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


def part_titles(rubric: Rubric) -> dict[str, str]:
    """grade_id -> what the feedback calls that cell: the part's title and its section."""
    titles = {}
    for part in rubric.parts.values():
        label = part_label(part)
        titles[part.test_cell] = label
        if part.answer_cell:
            titles[part.answer_cell] = label
    return titles
