"""The graders' assertions: each raises an AssertionError with a Japanese message for the student
(the text: graders/messages.py).

Every message is concrete (which quantity, which shapes, the worst relative error and where, a
factor or transposition hint) but never shows a hidden input or expected value. Every numeric
comparison is also recorded in the active grading session (benchmarks/false_failures.py).

A failed check that knows which mistake it saw raises `Mismatch`, an AssertionError carrying the
findings (public/diagnosis.py); the judge's plugin puts them into the results' `diagnoses`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from autograder.graders.numerics import EXACT_TOL, FD_TOL, close, max_relative_error
from autograder.graders.session import current

from ..public.findings import Finding
from . import messages as say

Explain = Callable[[np.ndarray], list[Finding]]  # the student's wrong array -> the diagnosis


class Mismatch(AssertionError):
    """A failed check, with the mistakes diagnosed from the numbers (possibly none)."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


@dataclass(frozen=True)
class Hint:
    """A known wrong answer of one check, what it means, and its diagnosis code."""

    value: np.ndarray
    meaning: str
    code: str


def diagnosed(explain: Explain | None, got: np.ndarray) -> list[Finding]:
    return explain(got) if explain is not None and current().diagnosing else []


def told(findings: Sequence[Finding]) -> str:
    """The findings' messages, for the end of a check's message (the unsure ones too)."""
    return "".join(f"。{f.message.rstrip('。')}" for f in findings)


def assert_shape(what: str, got: np.ndarray, shape: tuple[int, ...], explain: Explain | None = None) -> None:
    shape = tuple(shape)
    if got.shape != shape:
        findings = diagnosed(explain, got)
        if findings and findings[0].code != "unknown":
            hint = told(findings)
        elif len(shape) == 2 and got.shape == shape[::-1] and shape[0] != shape[1]:
            hint = say.TRANSPOSED_SHAPE
        elif got.size != int(np.prod(shape)):
            hint = say.SIZE_DIFFERS
        else:
            hint = say.RESHAPE
        unsure = "" if findings and findings[0].code != "unknown" else told(findings)  # says that none fits
        raise Mismatch(say.shape_differs(what, shape, got.shape, hint) + unsure, findings)


def assert_gradient(
    what: str,
    got: np.ndarray,
    expected: np.ndarray,
    tol: float = FD_TOL,
    hints: Sequence[Hint] = (),
    explain: Explain | None = None,
    quantity: str = "",
) -> None:
    """Shape, finiteness, then max-normalised error; the message says where and which mistake.

    hints: known wrong answers of this check, named when one matches; explain: the diagnosis of
    the part's gradient (public/diagnosis.py), asked only when the check fails; quantity: the
    gradient's short name in a hint's finding ("dW", "dx", ...)."""
    assert_shape(what, got, expected.shape, explain)
    bad = ~np.isfinite(got)
    if bad.any():
        current().record(what, float("inf"), tol)
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        findings = diagnosed(explain, got)
        cause = told(findings) if findings else say.OVERFLOW
        raise Mismatch(say.not_finite(what, idx, int(bad.sum())) + cause, findings)
    err = max_relative_error(got, expected)
    current().record(what, err, tol)
    if err <= tol:
        return
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(got - expected)), got.shape))
    msg = say.value_differs(what, err, tol, idx)
    for hint in hints:
        if close(got, hint.value):
            raise Mismatch(f"{msg}。{hint.meaning}", [Finding(hint.code, quantity or what, hint.meaning)])
    findings = diagnosed(explain, got)
    if findings and findings[0].code != "unknown":
        raise Mismatch(msg + told(findings), findings)
    raise Mismatch(msg + factor_hint(got, expected) + told(findings), findings)  # an unsure one says so


def factor_hint(got: np.ndarray, expected: np.ndarray) -> str:
    """Zero, sign, transposition, or one constant factor between got and expected."""
    if got.size < 2:  # one number: a ratio would just reveal the expected value
        return ""
    if not np.any(got) and np.any(expected):
        return say.ALL_ZERO
    if got.ndim == 2 and got.shape[0] == got.shape[1] and got.shape[0] > 1 and close(got, expected.T):
        return say.TRANSPOSED
    big = np.abs(expected) > 1e-3 * np.max(np.abs(expected), initial=0.0)
    if not big.any():
        return ""
    ratio = got[big] / expected[big]
    if abs(ratio[0]) < 1e-3:
        return ""
    if np.allclose(ratio, -1.0, rtol=1e-6):
        return say.SIGN_FLIPPED
    if np.allclose(ratio, ratio[0], rtol=1e-6) and abs(ratio[0] - 1) > 1e-6:
        return say.off_by_factor(simple_number(ratio[0]))
    return ""


def simple_number(r: float) -> str:
    """r as an integer or 1/integer when it is one (the usual factor bugs: N, D, 2, 1/N), else 3 digits."""
    for value, text in ((r, "{:d}"), (1 / r if r else 0.0, "1/{:d}")):
        n = round(value)
        if n and abs(value - n) <= 1e-6 * abs(value):
            return text.format(n) if text != "{:d}" or n != -1 else "-1"
    return f"{r:.3g}"


def assert_forward(what: str, got: np.ndarray, expected: np.ndarray) -> None:
    """The student's forward output (or loss) against the reference's: the given forward must be kept."""
    try:
        assert_gradient(what, np.atleast_1d(got), np.atleast_1d(np.asarray(expected, dtype=np.float64)), tol=EXACT_TOL)
    except AssertionError as exc:
        why = say.FORWARD_CHANGED
        raise Mismatch(f"{exc}。{why}", [Finding("forward_changed", "forward", why)]) from None
