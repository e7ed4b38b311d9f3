"""What the student's process sends is untrusted text: bounded and cleaned on the judge's side.

Code that runs on the hidden inputs can put them into an exception's type name or message, so
every long number is masked before any of it reaches feedback.
"""

from __future__ import annotations

import re
from typing import Any

from ..course.plain_text import printable
from . import messages as say
from .errors import StudentError
from .inside import protocol
from .launch import MEMORY_BYTES

TEXT_LIMITS = {"type": 60, "message": 200, "function": 60, "code": 120, "cell": 60}
RECEIVED_TEXT_LIMIT = 200  # any other string in a reply (class names, dict keys, ...)
# The largest array the judge takes from the student (elements): the graders' own arrays have at
# most a few dozen, an exercise's recorded setup a few hundred. Anything larger is refused when it
# arrives, before it is converted or kept (a 60 MiB bool array would be 480 MiB as float64).
MAX_ELEMENTS = 1 << 20
# ... and in one reply in total, counted over every place an array is referenced (a header can name
# one array many times) and every number in a list: [np.zeros(1 << 20, bool)] * 180 is 180 arrays
# each under MAX_ELEMENTS, 1.4 GiB as float64 together. 4 Mi elements (32 MiB as float64) still
# takes an exercise's model built far larger than asked (2 M parameters), which its test refuses
# by name; protocol.MAX_REPLY (17 MiB) bounds the frame's bytes.
MAX_REPLY_ELEMENTS = protocol.MAX_REPLY_ELEMENTS
MAX_DEPTH = 32  # nesting kept from a reply (deeper values become None)
# A number with 4 or more significant digits: how a hidden input or expected value would be spelled
_LONG_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_NUMBER_CHARS = frozenset("0123456789.eE+-")
# The runner cuts what it sends at 100 characters or more (a type name at 100, a message at 300):
# a text that long may end in the first digits of a number cut there.
RUNNER_CUT = 100


def _significant_digits(number: str) -> int:
    mantissa = re.split("[eE]", number.lstrip("+-"))[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits if "." in mantissa else digits.rstrip("0"))


def _drop_end_number(text: str, mark: str = "") -> str:
    """text without the number (or the start of one) it ends with, replaced by `mark`."""
    i = len(text)
    while i and text[i - 1] in _NUMBER_CHARS:
        i -= 1
    return text[:i] + mark if any(c in "0123456789" for c in text[i:]) else text


def _cut(text: str, n: int) -> str:
    """text[:n], without the digits of a number the cut splits: "…0.2374512" cut to "…0.237"
    would show 3 digits of a hidden value, under the mask's 4."""
    if len(text) <= n:
        return text
    return _drop_end_number(text[:n]) if text[n] in _NUMBER_CHARS else text[:n]


def clean_text(value: Any, limit: int) -> str:
    """Student-controlled text as it may be shown: printable, at most `limit` characters; a number
    a cut splits is dropped whole."""
    text = value if isinstance(value, str) else str(value)
    text = printable(_cut(text, 4 * limit + 16))  # bounded before the regular expression
    return text if len(text) <= limit else _cut(text, limit - 1) + "…"


def student_text(value: Any, limit: int) -> str:
    """clean_text, with every long number (4+ significant digits) masked: code that runs on the
    hidden inputs can put them into an exception's type name or message, never into feedback.
    A number ending a text the runner may have cut (cells.py, describe.py) is masked whatever its
    length: the rest of it is lost, and so is how many digits it had."""
    text = value if isinstance(value, str) else str(value)
    maybe_cut = len(text) >= RUNNER_CUT
    text = clean_text(text, 4 * limit)
    if maybe_cut:
        text = _drop_end_number(text, "…")
    text = _LONG_NUMBER.sub(lambda m: m.group(0) if _significant_digits(m.group(0)) < 4 else "…", text)
    return clean_text(text, limit)


class ReplyRefused(StudentError):
    """A reply larger in total than the judge takes; `str()` says how large (in Japanese)."""


def reply_elements(value: Any, depth: int = 0) -> int:
    """The elements received() would keep: the sizes of the arrays kept, at every reference, plus
    one for every other number or string (each may become an element when converted)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return int(value.size) if value.size <= MAX_ELEMENTS else 0
    if depth > MAX_DEPTH:
        return 0
    if isinstance(value, list):
        return sum(reply_elements(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(reply_elements(v, depth + 1) for v in value.values())
    return 1


def received(value: Any) -> Any:
    """A reply from the student process made safe to keep: strings bounded and cleaned, arrays over
    MAX_ELEMENTS replaced by {"$big": [dtype, shape]}, before anything converts or keeps them.
    Raises ReplyRefused when what would be kept exceeds MAX_REPLY_ELEMENTS in total."""
    total = reply_elements(value)
    if total > MAX_REPLY_ELEMENTS:
        raise ReplyRefused(say.reply_too_many_elements(total, MAX_REPLY_ELEMENTS))
    return _kept(value, 0)


def _kept(value: Any, depth: int) -> Any:
    import numpy as np

    if isinstance(value, str):
        return student_text(value, RECEIVED_TEXT_LIMIT)
    if isinstance(value, np.ndarray):
        return value if value.size <= MAX_ELEMENTS else {"$big": [value.dtype.str, list(value.shape)]}
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, list):
        return [_kept(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {student_text(k, RECEIVED_TEXT_LIMIT): _kept(v, depth + 1) for k, v in value.items()}
    return value


def _where(err: dict[str, Any]) -> str:
    w = err.get("where")
    if not isinstance(w, dict):
        return ""
    f = {k: student_text(w.get(k, ""), TEXT_LIMITS[k]) for k in ("cell", "function", "code")}
    return say.where(f["cell"], f["function"], student_text(w.get("line", ""), 12), f["code"])


def error_message(err: dict[str, Any], what: str) -> str:
    """The Japanese message for an error the runner reported (runner.error_info) while doing `what`."""
    kind = student_text(err.get("type", "Error"), TEXT_LIMITS["type"])
    msg = student_text(err.get("message", ""), TEXT_LIMITS["message"])
    if kind == "NotImplementedError":
        return say.not_implemented(what, _where(err))
    if kind == "UnsendableValue":
        return say.unsendable(what, msg)
    if kind == "ReplyTooLarge":  # describe.py, as the part server sends it
        return say.reply_over_limit(what, MAX_REPLY_ELEMENTS)
    if kind == "MemoryError":
        return say.out_of_memory(what, MEMORY_BYTES >> 20, _where(err))
    return say.raised(what, kind, msg, _where(err))
