"""Text from the judge as plain text: bounded, without control characters, escaped for Markdown.

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
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# what could start a tag, entity, link, code or math, and a URL's "://" (an autolinked bare URL
# would swallow the backslash of an escaped "<" that follows it, leaving a raw tag)
MD_ACTIVE = re.compile(r"([\\<>&\[\]`*$]|:(?=//))")


def bounded(text: Any, limit: int = MAX_MESSAGE) -> str:
    """Plain text of at most `limit` characters, without control characters (ANSI escapes too)."""
    plain = CONTROL.sub("", str(text).replace("\r\n", "\n").replace("\t", " "))
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def markdown_escape(text: str) -> str:
    """Text that Markdown renders as text, on one line, each run of whitespace one space (so no
    indented code block either): the characters that could start a tag, an entity, a link, code
    or math are backslash-escaped (CommonMark); others stay readable."""
    return MD_ACTIVE.sub(r"\\\1", " ".join(text.split()))
