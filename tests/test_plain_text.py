"""autograder/course/plain_text.py: the one rule of which characters are no text to show (every
cleaner of the kit uses it), and the one Markdown escaper (every place text lands in Markdown)."""

from __future__ import annotations

import mistune
import pytest
from bs4 import BeautifulSoup
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from autograder.course.plain_text import bounded, markdown_escape, printable
from autograder.reports.junit import xml_text
from autograder.sandbox.received import clean_text

UNPRINTABLE = {
    "NUL": "\x00",
    "backspace": "\x08",
    "escape (ANSI)": "\x1b",
    "carriage return": "\r",
    "DEL": "\x7f",
    "C1 control": "\x85",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "lone high surrogate": "\ud800",
    "lone low surrogate": "\udfff",
    "zero-width space": "\u200b",
    "left-to-right mark": "\u200e",
    "right-to-left override": "\u202e",
    "word joiner": "\u2060",
    "right-to-left isolate": "\u2067",
    "byte-order mark": "\ufeff",
    "noncharacter U+FFFE": "\ufffe",
    "noncharacter U+FFFF": "\uffff",
}
KEPT = ["勾配 dW", "é", "😀", "１２３", "\u00a0", "a b"]
CLEANERS = {
    "bounded": lambda t: bounded(t),
    "clean_text": lambda t: clean_text(t, 100),  # the student's text on receipt
    "xml_text": lambda t: xml_text(t),  # JUnit
}


@pytest.mark.parametrize("name", UNPRINTABLE)
@pytest.mark.parametrize("cleaner", CLEANERS)
def test_every_cleaner_drops_the_same_unprintable_characters(name: str, cleaner: str) -> None:
    assert CLEANERS[cleaner](f"前{UNPRINTABLE[name]}後") == "前後"


@pytest.mark.parametrize("cleaner", CLEANERS)
def test_text_and_line_breaks_stay(cleaner: str) -> None:
    for text in KEPT:
        assert CLEANERS[cleaner](text) == text
    assert printable("一行目\n二行目\tタブ") == "一行目\n二行目\tタブ"
    assert bounded("a\r\nb\tc") == "a\nb c"  # bounded: CRLF as LF, a tab as a space


HOSTILE = [
    "<script>alert(1)</script>",
    "&lt; &amp; &#60;",
    "[link](https://example.com) ![img](x.png)",
    "https://example.com/<b>x</b>",
    "www.example.com and WWW.EXAMPLE.COM",
    "mail me@example.com",
    "`code` ``more``",
    "$x^2$ $$y$$",
    "*em* **strong** _em_ __init__ ~~del~~ ~sub~",
    "a | b || c",
    "\\*not escaped\\*",
    "line one\n\n    indented code\n| new | row |",
    "test_gradients[N1_Din3_Dout2] :: self.cache['x']",
]
GFM = mistune.create_markdown(escape=False, plugins=["table", "strikethrough", "url"])


def shown(html: str) -> tuple[str, set[str]]:
    soup = BeautifulSoup(html, "html.parser")
    return " ".join(soup.get_text().split()), {t.name for t in soup.find_all(True)}


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_escape_shows_the_text_itself(text: str) -> None:
    """In a list item (memos) with nbconvert's renderer (Jupyter, nbgrader) and GFM, and in a
    table cell (the CI summaries): exactly the text on one line, no markup, no column added."""
    one_line = " ".join(text.split())
    escaped = markdown_escape(text)
    assert "\n" not in escaped
    for render in (markdown2html_mistune, GFM):
        got, tags = shown(render("- " + escaped))
        assert got == one_line and tags == {"ul", "li"}, (render, escaped)
    got, tags = shown(GFM(f"| a | b |\n|---|---|\n| {escaped} | end |\n"))
    assert got == f"a b {one_line} end", escaped
    assert tags == {"table", "thead", "tbody", "tr", "th", "td"}
