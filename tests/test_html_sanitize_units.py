"""autograder.sanitize on its own, fast: what it makes of student text is inert however it is
rendered again (nbconvert's Markdown renderer, as the feedback and formgrader templates do).

Random text built from HTML and Markdown fragments (hypothesis) goes through each entry point; the
result, rendered by nbconvert's markdown2html, is parsed and must hold no element outside the
allowlist, no on* attribute, no URL but http(s)/mailto/#anchors and raster data: images.
"""

from __future__ import annotations

from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from autograder.sanitize import ALLOWED_TAGS, bounded, clean_comment, markdown_escape, safe_markdown, sanitize_notebook

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
    "行列",
    "\x1b[31m",
    "\u2028",
]
TEXT = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=12).map("".join)


def assert_inert_html(html: str, allowed: set[str] = ALLOWED_TAGS) -> None:
    for el in BeautifulSoup(html, "html.parser").find_all(True):
        assert el.name in allowed, (el.name, html)
        for attr, value in el.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            assert not attr.lower().startswith("on"), (el.name, attr, html)
            if attr in ("href", "src"):
                url = "".join(value.split()).lower()
                ok = (
                    url.startswith(("http:", "https:", "mailto:", "#"))
                    if attr == "href"
                    else url.startswith(("data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp"))
                )
                assert ok, (el.name, attr, value, html)


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
    """Judge messages and batch notes in Markdown: only text formatting (bare http URLs become
    links), and every character that could start markup shows as written."""
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
    sanitize_notebook(nb)
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
    assert json.dumps(sanitize_notebook(nb), sort_keys=True) == once
