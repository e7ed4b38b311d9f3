"""Student text as inert HTML: the nh3 allowlist, which links may stay links, Markdown rendered and
cleaned onto one line that no Markdown pass can turn into a link, and gradebook comments.

Used by sanitize.py (a whole notebook) and the nbgrader feedback preprocessor (comments). See
sanitize.py's docstring for where each is applied.
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

import nh3

from ..course.plain_text import bounded, markdown_escape

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


def is_cleaned(text: str) -> bool:
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
