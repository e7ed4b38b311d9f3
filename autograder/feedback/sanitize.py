"""Student-controlled text never runs as HTML where the student or the instructor opens it.

The autograded notebook (which formgrader renders, and generate_feedback turns into the feedback
HTML) is made safe in itself, so that every renderer is covered whatever its configuration:

- code cells keep no output of the student's (the judge writes the test cells' outputs afterwards);
- a markdown cell the release does not have verbatim is rendered to HTML, cleaned with nh3 (an
  allowlist: text formatting, tables, code, links only to absolute http(s) URLs with a host
  name and to #anchors (safe_link), images only as embedded raster data) and stored as one line of HTML in a <div>, which Markdown renderers pass through
  untouched (no second Markdown pass could turn cleaned text into a link); a raw cell the
  release does not have becomes such a markdown cell showing its text verbatim (HTML exporters
  insert raw cells as they are). Cleaning twice changes nothing;
- cell and notebook metadata are cut down to what nbgrader and Jupyter need;
- text from the judge (which embeds the student's exception types and messages) is bounded and
  stripped of control characters; where it lands in Markdown it is escaped (plain_text.py).

nbgrader's feedback template renders markdown cells and gradebook comments without nbconvert's
sanitizer, so nbgrader_ext.SanitizeFeedback (a GenerateFeedback preprocessor, after GetGrades)
cleans both again at feedback time; nbgrader_config.py also sets HTMLExporter.sanitize_html
(cell outputs, JavaScript, widget state) for generate_feedback.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from typing import Any

import nh3

from ..course.assignment import ROOT, load_rubric, source_notebook
from ..course.plain_text import MAX_MESSAGE as MAX_MESSAGE
from ..course.plain_text import MAX_PART_FEEDBACK
from ..course.plain_text import bounded as bounded
from ..course.plain_text import markdown_escape as markdown_escape

MAX_CELL_TEXT = 20_000  # characters of a student's markdown or raw cell that are shown
MAX_COMMENT = 4_000  # characters of a gradebook comment shown in the feedback

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "abbr": {"title"},
}
RASTER_DATA = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z")
RASTER_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
# A link in student text: an absolute http(s) URL with a DNS host name, or an in-page #anchor.
# Anything else would resolve against the page showing it (the formgrader's, on the Jupyter
# origin: `http:x/..%2F..%2Fsubmitted%2F...` is relative, and nbgrader's SubmissionFilesHandler
# decodes %2F), so it loses its href and keeps its text. The host is ASCII labels ending in one
# that starts with a letter: no IP address in any of the forms browsers accept (127.1, 0x7f.1,
# 2130706433, [::1]), no full-width or other IDNA-mapped characters, no `localhost`; no user
# info, no whitespace, control character or backslash anywhere (browsers drop or reinterpret
# them), no encoded separator or dot in the path (%2F, %5C, %2E: a server may decode them into
# a path that climbs out of the folder the link seems to name).
SAFE_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z][a-z0-9-]*)(?::[0-9]{1,5})?"
    r"(?P<rest>[/?#][^\s\\\x00-\x1f\x7f-\x9f]*)?\Z",
    re.IGNORECASE,
)
ANCHOR = re.compile(r"#[^\s\\\x00-\x1f\x7f-\x9f]*\Z")
ENCODED_SEPARATOR = re.compile(r"%(2f|5c|2e|00)", re.IGNORECASE)
SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # nbformat's cell id pattern; grade ids, tags
NBGRADER_KEYS = {
    "cell_type",
    "checksum",
    "grade",
    "grade_id",
    "locked",
    "points",
    "schema_version",
    "solution",
    "task",
}  # nbgrader's cell metadata (schema 3)
# every Markdown link needs [ ], and a bare URL (which Markdown's autolinker links) a ":"
MD_SYNTAX = str.maketrans({c: f"&#{ord(c)};" for c in "\r\n[]:"})


def _attribute(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value if RASTER_DATA.match(value) else None  # no remote fetches, no SVG
    if tag == "a" and attr == "href":
        return value if safe_link(value) else None
    if attr in ("width", "height", "colspan", "rowspan", "start"):
        return value if value.isdigit() else None
    return value


def safe_link(url: str) -> bool:
    """Whether a student's href may stay a link (see SAFE_URL): the whole value as written, since a
    browser strips or reads what a looser check would ignore."""
    if ANCHOR.match(url):
        return True
    found = SAFE_URL.match(url)
    if found is None:
        return False
    host = found["host"].lower()
    return host != "localhost" and not host.endswith(".localhost") and not ENCODED_SEPARATOR.search(url)


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute,
        url_schemes={"http", "https", "data"},  # data: for images only (_attribute)
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def clean_html(fragment: str) -> str:
    return _cleaner().clean(fragment)


def safe_markdown(source: str, attachments: dict[str, Any] | None = None) -> str:
    """Markdown from the student -> cleaned HTML on one line inside a <div>: rendered the same by
    nbconvert and Jupyter (an HTML block is passed through), with nothing left to execute."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    renderer = IPythonRenderer(
        escape=False, attachments=attachments if isinstance(attachments, dict) else {}, exclude_anchor_links=True
    )
    try:
        rendered = MarkdownWithMath(renderer=renderer).render(bounded(source, MAX_CELL_TEXT))
    except Exception:  # a malformed attachment or a renderer bug: show the text as it is
        return preformatted(source)
    return "<div>" + _inert_line(clean_html(rendered).strip()) + "</div>"


def preformatted(text: str) -> str:
    """Any text as a markdown cell that shows it verbatim in a <pre> (one inert line, like
    safe_markdown's)."""
    escaped = html.escape(bounded(text, MAX_CELL_TEXT))
    return "<div>" + _inert_line(clean_html(f"<pre>{escaped}</pre>")) + "</div>"


def _inert_line(fragment: str) -> str:
    """Cleaned HTML that no Markdown parser can turn into a link: on one line (an HTML block ends
    at a blank line, and the rest would be parsed: cleaned text such as `[x](javascript:...)`
    would become a link), and brackets and colons as character references, which Markdown never
    reads as link syntax (nor as a bare URL to autolink, such as a loopback address the cleaner
    left as text) and HTML decodes to the same text (or attribute value)."""
    return fragment.translate(MD_SYNTAX)


@cache
def trusted_texts() -> frozenset[str]:
    """Markdown and raw cells of the kit's own notebooks: shown as they are."""
    rubric = load_rubric()
    texts = set()
    for path in (source_notebook(), ROOT / "release" / rubric.assignment / f"{rubric.notebook}.ipynb"):
        if path.is_file():
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                if cell.get("cell_type") in ("markdown", "raw"):
                    texts.add(_text(cell.get("source", "")))
    return frozenset(texts)


def _text(source: Any) -> str:
    return "".join(map(str, source)) if isinstance(source, list) else str(source)


def _clean_metadata(meta: Any) -> dict[str, Any]:
    meta = meta if isinstance(meta, dict) else {}
    out: dict[str, Any] = {k: meta[k] for k in ("deletable", "editable") if isinstance(meta.get(k), bool)}
    tags = meta.get("tags")
    if isinstance(tags, list) and all(isinstance(t, str) and SAFE_NAME.match(t) for t in tags):
        out["tags"] = list(tags)
    nbg = meta.get("nbgrader")
    if (
        isinstance(nbg, dict)
        and isinstance(nbg.get("grade_id", ""), str)
        and SAFE_NAME.match(nbg.get("grade_id") or "x")
    ):
        out["nbgrader"] = {
            k: v for k, v in nbg.items() if k in NBGRADER_KEYS and isinstance(v, (bool, int, float, str))
        }
    return out


MAX_PICTURE_BYTES = 200_000  # a heatmap figure is ~30 KB


def judge_picture(out: dict[str, Any]) -> bool:
    """A judge's heatmap: exactly a base64 PNG (checked by its signature) and a plain-text caption."""
    import base64
    import binascii

    data = out.get("data")
    if not isinstance(data, dict) or set(data) != {"image/png", "text/plain"}:
        return False
    png, caption = data["image/png"], data["text/plain"]
    if not isinstance(png, str) or not isinstance(caption, str) or len(png) > MAX_PICTURE_BYTES * 4 // 3 + 4:
        return False
    try:
        return base64.b64decode(png, validate=True).startswith(b"\x89PNG\r\n\x1a\n")
    except (binascii.Error, ValueError):
        return False


def text_outputs(outputs: Any) -> list[dict[str, Any]]:
    """The outputs the judge writes (stdout text, its heatmap pictures and a plain-text result),
    bounded; nothing else."""
    kept: list[dict[str, Any]] = []
    for out in outputs if isinstance(outputs, list) else []:
        kind = out.get("output_type") if isinstance(out, dict) else None
        if kind == "stream" and out.get("name") == "stdout":
            kept.append(
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": bounded(_text(out.get("text", "")), MAX_PART_FEEDBACK),
                }
            )
        elif kind == "display_data" and judge_picture(out):
            meta = out.get("metadata")
            png_meta = meta.get("image/png") if isinstance(meta, dict) else None
            alt = png_meta.get("alt") if isinstance(png_meta, dict) else None
            alt = alt if isinstance(alt, str) else "図（勾配のヒートマップ）"
            kept.append(
                {
                    "output_type": "display_data",
                    # the alt text, bounded (nbconvert escapes it): else the page says it in English
                    "metadata": {"image/png": {"alt": bounded(_text(alt), 300)}},
                    "data": {
                        "image/png": out["data"]["image/png"],
                        "text/plain": bounded(_text(out["data"]["text/plain"]), 200),
                    },
                }
            )
        elif kind == "execute_result" and isinstance(out.get("data"), dict) and set(out["data"]) == {"text/plain"}:
            kept.append(
                {
                    "output_type": "execute_result",
                    "execution_count": None,
                    "metadata": {},
                    "data": {"text/plain": bounded(_text(out["data"]["text/plain"]), 100)},
                }
            )
    return kept


def sanitize_notebook(nb: Any, keep_text_outputs: bool = False) -> Any:
    """Make a notebook safe to render, in place (see the module's docstring); returns it.

    keep_text_outputs: keep the outputs the judge writes (stdout, a plain-text score) and drop the
    rest; by default every code cell's outputs are dropped (the judge writes its own afterwards)."""
    trusted = trusted_texts()
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    nb["metadata"] = {
        k: {kk: bounded(vv, 100) for kk, vv in v.items() if isinstance(vv, str)}
        for k, v in meta.items()
        if k in ("kernelspec", "language_info") and isinstance(v, dict)
    }
    seen_ids: set[str] = set()
    all_ids = {c.get("id") for c in nb["cells"]}
    for i, cell in enumerate(nb["cells"]):
        cell["metadata"] = _clean_metadata(cell.get("metadata"))
        cid = cell.get("id")
        if cid is not None:
            if not (isinstance(cid, str) and SAFE_NAME.match(cid)) or cid in seen_ids:
                cid, n = f"cell-{i}", i  # deterministic (a rerun writes the same notebook), unique
                while cid in seen_ids or cid in all_ids:
                    n += len(nb["cells"])
                    cid = f"cell-{n}"
                cell["id"] = cid
            seen_ids.add(cid)
        if cell.get("cell_type") == "code":
            cell["outputs"] = text_outputs(cell.get("outputs")) if keep_text_outputs else []
            cell.pop("attachments", None)
            continue
        text = _text(cell.get("source", ""))
        if cell.get("cell_type") == "markdown" and _is_cleaned(text):
            cell.pop("attachments", None)
            continue
        if text in trusted:  # the assignment's own cell, with raster image attachments only
            if "attachments" in cell:
                cell["attachments"] = _raster_attachments(cell["attachments"])
            continue
        if cell.get("cell_type") == "markdown":
            cell["source"] = safe_markdown(text, cell.get("attachments"))
        else:  # raw (or unknown; exporters insert raw cells as they are): shown as preformatted text
            cell["cell_type"] = "markdown"
            cell["source"] = preformatted(text)
        cell.pop("attachments", None)
    if type(nb) is not dict:  # an nbformat NotebookNode (nbgrader) stays one all the way down
        from nbformat import from_dict

        nb.update(from_dict({"metadata": nb["metadata"], "cells": nb["cells"]}))  # type: ignore[no-untyped-call]
    return nb


def _raster_attachments(attachments: Any) -> dict[str, Any]:
    return {
        name: {m: d for m, d in bundle.items() if m in RASTER_TYPES and isinstance(d, str)}
        for name, bundle in (attachments.items() if isinstance(attachments, dict) else ())
        if isinstance(bundle, dict)
    }


def _is_cleaned(text: str) -> bool:
    """Made by safe_markdown already: one line of HTML in a <div> that the cleaner leaves as it is."""
    return (
        text.startswith("<div>")
        and text.endswith("</div>")
        and "\n" not in text
        and "\r" not in text
        and _inert_line(clean_html(text)) == text
    )


def clean_comment(comment: Any, markdown: bool = False) -> str:
    """A gradebook comment as safe HTML: the instructor's Markdown rendered and cleaned, or (by
    default) the judge's plain text, escaped line by line so that it shows exactly as written."""
    if not comment:
        return ""
    text = bounded(comment, MAX_COMMENT)
    return safe_markdown(text if markdown else "\n".join(markdown_escape(ln) for ln in text.split("\n")))
