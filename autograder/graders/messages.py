"""The graders' assertions: each raises an AssertionError with a Japanese message for the student.

Every message is concrete (which quantity, which shapes, the worst relative error and where, a
factor or transposition hint) but never shows a hidden input or expected value. Every numeric
comparison is also recorded in the active grading session (benchmarks/false_failures.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .numerics import EXACT_TOL, FD_TOL, close, max_relative_error
from .session import current


def assert_shape(what: str, got: np.ndarray, shape: tuple[int, ...]) -> None:
    shape = tuple(shape)
    if got.shape != shape:
        if len(shape) == 2 and got.shape == shape[::-1] and shape[0] != shape[1]:
            hint = "（転置になっていませんか？）"
        elif got.size != int(np.prod(shape)):
            hint = "（sum の axis や keepdims、行列積の順番を確認してください）"
        else:
            hint = "（reshape や keepdims を確認してください）"
        raise AssertionError(f"{what} の形状が違います: 期待 {shape}, 実際 {got.shape}{hint}")


def assert_gradient(
    what: str, got: np.ndarray, expected: np.ndarray, tol: float = FD_TOL, hints: Sequence[tuple[np.ndarray, str]] = ()
) -> None:
    """Shape, finiteness, then max-normalised error; the message says where and by what factor.

    hints: (a known wrong answer, what it means) pairs; a match is named in the message."""
    assert_shape(what, got, expected.shape)
    bad = ~np.isfinite(got)
    if bad.any():
        current().record(what, float("inf"), tol)
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what} に NaN または inf が含まれています（位置 {idx}、全 {int(bad.sum())} 要素）。"
            "exp のオーバーフローや 0 による割り算を確認してください"
        )
    err = max_relative_error(got, expected)
    current().record(what, err, tol)
    if err <= tol:
        return
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(got - expected)), got.shape))
    msg = f"{what} の値が違います: 最大相対誤差 {err:.2e}（許容 {tol:.0e}）、最大のずれは位置 {idx}"
    for candidate, meaning in hints:
        if close(got, candidate):
            msg += f"。{meaning}"
            break
    else:
        msg += factor_hint(got, expected)
    raise AssertionError(msg)


def factor_hint(got: np.ndarray, expected: np.ndarray) -> str:
    """Zero, sign, transposition, or one constant factor between got and expected."""
    if got.size < 2:  # one number: a ratio would just reveal the expected value
        return ""
    if not np.any(got) and np.any(expected):
        return "。すべて 0 になっています"
    if got.ndim == 2 and got.shape[0] == got.shape[1] and got.shape[0] > 1 and close(got, expected.T):
        return "。転置になっています（行列積の順番を確認してください）"
    big = np.abs(expected) > 1e-3 * np.max(np.abs(expected), initial=0.0)
    if not big.any():
        return ""
    ratio = got[big] / expected[big]
    if abs(ratio[0]) < 1e-3:
        return ""
    if np.allclose(ratio, -1.0, rtol=1e-6):
        return "。符号が逆です"
    if np.allclose(ratio, ratio[0], rtol=1e-6) and abs(ratio[0] - 1) > 1e-6:
        return f"。全体が約 {simple_number(ratio[0])} 倍ずれています（係数、平均の取り方、割る数を確認してください）"
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
        raise AssertionError(
            f"{exc}。順伝播（forward）が用意されたものと違う値を返しています。"
            "forward は変更しないでください（採点は用意された順伝播の勾配と比べます）"
        ) from None
