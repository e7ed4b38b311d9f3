"""autograder.feedback.sanitize and safe_html on their own, fast: what they make of student text is inert
however it is rendered again (nbconvert's Markdown renderer, as the feedback and formgrader templates do).

Random text built from HTML and Markdown fragments (hypothesis) goes through each entry point; the
result, rendered by nbconvert's markdown2html, is parsed and must hold no element outside the
allowlist, no on* attribute, no URL but absolute http(s) ones with a host name, #anchors and
raster data: images. Every kind of link a student's markdown can make is tried by name: only an
absolute http(s) URL with a DNS host name, or an in-page anchor, stays a link; the text stays.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from autograder.course.plain_text import bounded, markdown_escape
from autograder.feedback.safe_html import ALLOWED_TAGS, clean_comment, safe_markdown
from autograder.feedback.sanitize import sanitize_notebook, trusted_texts
from tests.nb74 import NB74

FRAGMENTS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "<svg onload=alert(1)>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "</iframe>",
    "<style>",
    "[a](javascript:alert(1))",
    "<javascript:alert(1)>",
    "![i](data:image/svg+xml;base64,PHN2Zz4=)",
    "<a href='jav&#x61;script:alert(1)'>",
    "<div>",
    "</div>",
    "<pre>",
    "</pre>",
    "```",
    "`",
    "$",
    "$$",
    "\\",
    "&",
    "&lt;",
    "<!--",
    "-->",
    "<![CDATA[",
    "\n",
    "\n\n",
    "    ",
    "# ",
    "- ",
    "> ",
    "| a |\n|---|\n",
    "<details open ontoggle=alert(1)>",
    "<math><mi xlink:href='javascript:1'>",
    "<object data=x>",
    "<form action=javascript:1>",
    "<base href=//evil>",
    "<meta http-equiv=refresh>",
    "<textarea>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'>",
    "javascript:",
    '<a href="https://example.org">ok</a>',
    "[n](http:x/..%2F..%2Fsubmitted%2Fs%2Fa%2Fnotes.html)",
    "[r][r]\n\n[r]: http:x/..%2Fnotes.html\n",
    "<http:x/notes.html>",
    "[s](//evil.example/x)",
    "[b](http:\\\\evil.example)",
    "[l](http://localhost:8888/formgrader)",
    "<area href=notes.html>",
    "<a href=notes.html>",
    "<a href='mailto:a@b.example'>",
    "行列",
    "\x1b[31m",
    "\u2028",
]
TEXT = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=12).map("".join)


def assert_inert_html(
    html: str, allowed: set[str] = ALLOWED_TAGS, href_ok: Callable[[str], bool] | None = None
) -> None:
    href_ok = href_ok or absolute_or_anchor
    for el in BeautifulSoup(html, "html.parser").find_all(True):
        assert el.name in allowed, (el.name, html)
        for attr, value in el.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            assert not attr.lower().startswith("on"), (el.name, attr, html)
            if attr in ("href", "src"):
                ok = (
                    href_ok(value)
                    if attr == "href"
                    else value.startswith(("data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp"))
                )
                assert ok, (el.name, attr, value, html)


def absolute_or_anchor(url: str) -> bool:
    """An independent reading of the rule (urllib, not sanitize's pattern): an in-page anchor, or
    http(s) with a host name that is neither an IP address nor localhost, nothing a browser would
    strip or reinterpret, and no encoded separator that a server could decode into a path."""
    if url.startswith("#"):
        return not any(c.isspace() or c == "\\" for c in url)
    if url != url.strip() or any(c.isspace() or ord(c) < 32 or c == "\\" for c in url) or "%2f" in url.lower():
        return False
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return False
    except ValueError:
        pass
    return (
        parts.scheme.lower() in ("http", "https")
        and url.lower().startswith(parts.scheme.lower() + "://")
        and "@" not in parts.netloc
        and "." in host
        and host.isascii()
        and not host.rsplit(".", 1)[1][:1].isdigit()
        and host != "localhost"
        and not host.endswith(".localhost")
    )


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_safe_markdown_stays_inert_when_rendered_again(text):
    once = safe_markdown(text)
    assert "\n" not in once and once.startswith("<div>")
    assert_inert_html(markdown2html_mistune(once))
    assert_inert_html(markdown2html_mistune(safe_markdown(once)))
    # even a renderer that read the line as a paragraph (inline Markdown) finds nothing to link
    assert_inert_html(markdown2html_mistune("x " + once))


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_escaped_text_is_rendered_literally(text):
    """Judge messages and batch notes in Markdown: only text formatting (no link: a bare URL's
    "://" is escaped too, else its autolink swallowed the backslash of a "\\<" after it), and every
    character that could start markup shows as written."""
    line = markdown_escape(bounded(text))
    html = markdown2html_mistune("- " + line)
    assert_inert_html(
        html,
        allowed={
            "a",
            "ul",
            "ol",
            "li",
            "p",
            "em",
            "strong",
            "del",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "hr",
            "blockquote",
        },
        href_ok=lambda url: url.startswith("#"),  # a heading's own anchor
    )
    got = BeautifulSoup(html, "html.parser").get_text()
    for ch in "<>[]`$&":
        assert got.count(ch) == bounded(text).count(ch), (ch, text, html)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_comments_are_inert(text):
    for markdown in (False, True):
        assert_inert_html(markdown2html_mistune(clean_comment(text, markdown=markdown)))


def test_bounded_cuts_and_strips_control_characters():
    assert bounded("a\x1b[31mb\x00c\u2028d") == "a[31mbcd"
    assert len(bounded("x" * 10_000)) == 500 and bounded("x" * 10_000).endswith("…")


def test_notebook_keeps_the_assignment_and_drops_student_markup():
    import json

    from tests.submissions import RELEASE

    nb = json.loads(RELEASE.read_text(encoding="utf-8"))
    own = [c["source"] for c in nb["cells"] if c["cell_type"] == "markdown"]
    nb["cells"][2]["attachments"] = {"a.svg": {"image/svg+xml": "<svg onload=alert(1)>"}}
    nb["cells"].append(
        {"cell_type": "markdown", "metadata": {"tags": ["<x>"]}, "source": "# 自分のメモ <script>x</script>"}
    )
    nb["cells"].append({"cell_type": "raw", "metadata": {"raw_mimetype": "text/html"}, "source": "<script>x</script>"})
    nb["cells"][3]["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {"text/html": "<b>"}}]
    nb["metadata"]["widgets"] = {"x": "</script>"}
    sanitize_notebook(nb, trusted=trusted_texts(NB74))
    assert [c["source"] for c in nb["cells"] if c["cell_type"] == "markdown"][: len(own)] == own
    assert nb["cells"][2].get("attachments") == {"a.svg": {}}
    assert nb["cells"][-2]["source"] == "<div><h1>自分のメモ </h1></div>" and nb["cells"][-2]["metadata"] == {}
    assert nb["cells"][-1] == {
        "cell_type": "markdown",
        "metadata": {},
        "source": "<div><pre>&lt;script&gt;x&lt;/script&gt;</pre></div>",
    }
    assert nb["cells"][3]["outputs"] == [] and set(nb["metadata"]) == {"kernelspec", "language_info"}
    once = json.dumps(nb, sort_keys=True)  # autograde, then generate_feedback: the same notebook
    assert json.dumps(sanitize_notebook(nb, trusted=trusted_texts(NB74)), sort_keys=True) == once


# Every kind of link a student's markdown cell can make (inline, reference-style, autolink, raw
# HTML), by where it would go: only the first group stays a link, with its text.
KEPT = [
    "https://example.org",
    "http://ja.wikipedia.org/wiki/Backpropagation",
    "HTTPS://Docs.Python.org:443/3/library/re.html?x=1#re.match",
    "#section-2",
]
DROPPED = [
    "http:x/..%2F..%2F..%2F..%2Fsubmitted%2Fstudent%2Fnb74_matrix_backprop%2Fnotes.html",  # finding 5
    "http:notes.html",
    "https:x/..%2Fnotes.html",
    "notes.html",
    "./notes.html",
    "../../../submitted/s/a/notes.html",
    "/files/source/a/x.ipynb",
    "?next=/x",
    "//evil.example/x",
    "http:\\\\evil.example/x",
    "http:/\\evil.example/x",
    "https://evil.example\\@x/",
    "https://user@evil.example/",
    "http://localhost:8888/formgrader/submissions/1/notes.html",
    "http://a.localhost/",
    "http://127.0.0.1:8888/tree",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://[::1]:8888/",
    "https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",  # full-width localhost
    "https://example.org/a/..%2F..%2Fsubmitted",
    "https://example.org/%2e%2e/x",
    "https://example.org/%5Cx",
    "https://example.org./x",
    " https://example.org",
    "java\tscript:alert(1)",
    "javascript:alert(1)",
    "JaVaScRiPt&colon;alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:x",
    "mailto:teacher@example.org",
    "file:///etc/passwd",
    "ftp://example.org/",
]


def links_of(markdown: str) -> list[tuple[str | None, str]]:
    soup = BeautifulSoup(markdown2html_mistune(safe_markdown(markdown)), "html.parser")
    return [(a.get("href"), a.get_text()) for a in soup.find_all("a")]


@pytest.mark.parametrize("url", KEPT + DROPPED)
def test_only_absolute_http_links_with_a_host_name_stay(url):
    html_url = url.replace("&", "&amp;").replace('"', "&quot;")
    written = {
        "inline": f"[メモ]({url.replace(' ', '%20') if url.startswith(' ') else url})",
        "reference": f"[メモ][r]\n\n[r]: <{url}>\n",
        "raw": f'<a href="{html_url}">メモ</a>',
    }
    for how, markdown in written.items():
        got = links_of(markdown)
        if how == "inline" and url.startswith(" "):
            continue  # Markdown itself trims it (a link to example.org, which is kept: not this case)
        assert [text for _, text in got] in (["メモ"], []), (how, got)  # the text stays
        hrefs = [href for href, _ in got if href is not None]
        if url in KEPT:
            assert hrefs and all(absolute_or_anchor(h) for h in hrefs), (how, url, got)
        else:
            assert not hrefs, (how, url, got)
            assert "メモ" in BeautifulSoup(safe_markdown(markdown), "html.parser").get_text(), how
    if url.startswith(("http", "HTTP")) and " " not in url and "\\" not in url:
        autolinked = [href for href, _ in links_of(f"<{url}>") if href is not None]
        assert bool(autolinked) == (url in KEPT), (url, autolinked)


@pytest.mark.parametrize(
    "markup", ["<area href=notes.html alt=x>", "<form action=notes.html>x</form>", "<img src=notes.svg>"]
)
def test_other_elements_that_fetch_or_navigate_are_dropped(markup):
    html = safe_markdown(f"メモ {markup}")
    soup = BeautifulSoup(markdown2html_mistune(html), "html.parser")
    assert not soup.find_all(["area", "form", "map"]) and not soup.select("img[src]"), html
    assert "notes" not in html, html
