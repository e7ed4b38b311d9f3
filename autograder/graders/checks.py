"""Numerical checks shared by the graders, with Japanese messages that never show input values."""
from __future__ import annotations

from typing import Callable

import numpy as np

# Central-difference step for inputs of order 1 (truncation ~h², rounding ~eps/h: both ~1e-11).
FD_STEP = 1e-6
# Worst max-normalised error of correct code against central differences, with margin (measured
# by benchmarks/false_failures.py over 1,000 seeds; see the README).
FD_TOL = 1e-6
# Against the reference's analytic gradient (used where differences lose accuracy): rounding only.
EXACT_TOL = 1e-9


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = FD_STEP) -> np.ndarray:
    """Central differences of a scalar function of x (x is not modified)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + h
        fp = f(x)
        x[idx] = orig - h
        fm = f(x)
        x[idx] = orig
        grad[idx] = (fp - fm) / (2 * h)
    return grad


def max_relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    """max|got - expected| / max(max|got|, max|expected|): stable where gradients are near 0."""
    scale = max(float(np.max(np.abs(got), initial=0.0)), float(np.max(np.abs(expected), initial=0.0)))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(got - expected)) / scale)


def assert_shape(what: str, got: np.ndarray, shape: tuple[int, ...]) -> None:
    if got.shape != tuple(shape):
        hint = "（転置になっていませんか？）" if got.shape == tuple(shape)[::-1] and len(shape) == 2 else ""
        hint = hint or ("（sum の axis や keepdims を確認してください）" if got.size != np.prod(shape) else "")
        raise AssertionError(f"{what} の形状が違います: 期待 {tuple(shape)}, 実際 {got.shape}{hint}")


def assert_gradient(what: str, got: np.ndarray, expected: np.ndarray, tol: float = FD_TOL) -> None:
    """Shape, finiteness, then max-normalised error; the message says where and by what factor."""
    assert_shape(what, got, expected.shape)
    bad = ~np.isfinite(got)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(f"{what} に NaN または inf が含まれています（位置 {idx}、全 {int(bad.sum())} 要素）。"
                             "exp のオーバーフローなどを確認してください")
    err = max_relative_error(got, expected)
    if err <= tol:
        return
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(got - expected)), got.shape))
    msg = f"{what} の値が違います: 最大相対誤差 {err:.2e}（許容 {tol:.0e}、最大のずれは位置 {idx}）"
    big = np.abs(expected) > 1e-3 * np.max(np.abs(expected))
    if big.any():
        ratio = got[big] / expected[big]
        if np.allclose(ratio, ratio[0], rtol=1e-6) and abs(ratio[0] - 1) > 1e-6:
            msg += f"。全体が約 {ratio[0]:.4g} 倍ずれています（係数や平均の取り方を確認してください）"
        elif np.allclose(ratio, -1.0, rtol=1e-6):
            msg += "。符号が逆です"
    raise AssertionError(msg)
