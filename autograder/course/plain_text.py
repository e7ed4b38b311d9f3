"""Text from the judge as plain text: bounded, printable, escaped for Markdown. The one home of
each rule: which characters are no text to show (printable: the student's text on receipt, every
message, the class report, JUnit), and which are escaped where text lands in Markdown
(markdown_escape: notebook memos, gradebook comments, the CI summaries' tables).

The judge's messages quote the student's exception types and messages and file names, so every
one of them passes through here before it is printed, stored in the results or put in a notebook.
"""

from __future__ import annotations

import re
from typing import Any

MAX_MESSAGE = 500  # characters of one judge message (it may quote the student's exception)
# characters of one part's text under its test cell: every distinct message of a part (at most
# one per test, about ten) fits; autograder.feedback.messages says how many did not, if ever.
MAX_PART_FEEDBACK = 16 * MAX_MESSAGE
# No text to show: control characters but newline and tab (ANSI escapes start with one), line and
# paragraph separators, lone surrogates (no UTF-8 holds them), zero-width characters and bidi
# controls (they reorder what is shown: "Trojan Source"), other format characters, the byte-order
# mark, and the noncharacters U+FFFE and U+FFFF (which XML 1.0 cannot carry either).
UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufffe\uffff]"
)
# What Markdown (CommonMark, and GFM: GitHub, JupyterLab) could take as markup: what starts a tag,
# an entity, a link, code, math, emphasis or strikethrough; a URL's "://" (an autolinked bare URL
# would swallow the backslash of an escaped "<" that follows it, leaving a raw tag); what GFM
# links without any markup (an e-mail's "@", "www."); a table's column break "|". A backslash
# before ASCII punctuation shows the character itself, in a table cell too.
MD_ACTIVE = re.compile(r"([\\<>&\[\]`*$_~|@]|:(?=//)|(?<=www)\.)", re.IGNORECASE)


def printable(text: str) -> str:
    """`text` without the characters that are no text to show (UNPRINTABLE); newlines and tabs stay."""
    return UNPRINTABLE.sub("", text)


def bounded(text: Any, limit: int = MAX_MESSAGE) -> str:
    """Plain text of at most `limit` characters: printable, CRLF as LF, a tab as a space."""
    plain = printable(str(text).replace("\r\n", "\n").replace("\t", " "))
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def markdown_escape(text: str) -> str:
    """Text that Markdown renders as text, on one line, each run of whitespace one space (so no
    indented code block, no new table row either): every character of MD_ACTIVE is
    backslash-escaped (CommonMark); the rest stays readable. Fits in a table cell as it is."""
    return MD_ACTIVE.sub(r"\\\1", " ".join(text.split()))
