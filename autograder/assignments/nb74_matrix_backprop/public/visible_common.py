"""What every visible check shares (see visible.py): the tolerances and the visible inputs, the
notebook's public helpers (numerical_gradient, relative_error), what a failure shows, calling the
student's code, and IPython's one-line errors (`install`)."""

from __future__ import annotations

import base64
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .findings import Finding
from .heatmaps import gradient_figure, img_tag

# 合格の基準（可視テスト・勾配チェック・採点で共通、7.1 節）: relative_error が GRAD_TOL 以下
GRAD_TOL = 1e-5
# the second backward after one forward gets REPEAT_FACTOR · dout (its result must scale so)
REPEAT_FACTOR = -2.0
# How closely a known mistake must reproduce the student's array to be named. The expected values
# here are central differences (h = 1e-6). Measured on the visible inputs with the reference (125
# comparisons): at most 8.8e-10 max-normalised, except 1.2e-7 on the ±1000 logits, where the loss
# is ~1000 and rounding grows with it; the known mistakes differ from the right gradient and from
# each other by 1e-2 or more.
DIAGNOSIS_TOL = 1e-6
# a forward output may differ from the given forward's by rounding only
FORWARD_TOL = 1e-12
MAX_LINES = 8  # lines a failure shows in the notebook
RED, BOLD, RESET = "\x1b[31m", "\x1b[1m", "\x1b[0m"

# The visible inputs of each part (the hidden tests use others).
LINEAR_SHAPES: tuple[tuple[int, int, int], ...] = ((4, 3, 2),)  # (N, D_in, D_out)
ACTIVATION_SEEDS = {"Sigmoid": (1, 3.0), "ReLU": (2, 1.0), "Tanh": (3, 2.0)}  # (seed, scale) of x
ACTIVATION_SHAPES = {"Sigmoid": (3, 4), "ReLU": (4, 5), "Tanh": (2, 6)}
# a second input far out (the exp in a recomputed formula overflows) and, for ReLU, close to the kink
LARGE_INPUT = np.array([[-1000.0, -2.0, 1.5, 1000.0]])  # ±1000: exact 0 derivative
NEAR_KINK = np.array([[-3e-4, -1e-4, 2e-4, 5e-4]])
PART_OF = {
    "Linear": "Linear.backward",
    "Sigmoid": "Sigmoid.backward",
    "ReLU": "ReLU.backward",
    "Tanh": "Tanh.backward",
    "MSELoss": "MSELoss.backward",
    "SoftmaxCrossEntropy": "SoftmaxCrossEntropy.backward",
}
RESULT_NAME = {"MSELoss": "dL/dy", "SoftmaxCrossEntropy": "dL/dx"}  # a loss's backward returns this


# --- the public helpers of the notebook (7.1 節): the notebook's globals have these too ---


def numerical_gradient(f: Callable[[np.ndarray], float], x: Any, h: float = 1e-6) -> np.ndarray:
    """スカラー関数 f(x) の x に関する数値勾配（中心差分）。x 自体は変更しない。"""
    x = np.array(x, dtype=np.float64)
    grad: np.ndarray = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        x[idx] = original + h
        f_plus = f(x)
        x[idx] = original - h
        f_minus = f(x)
        x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a: Any, b: Any) -> float:
    """最大絶対値で正規化した相対誤差: max|a - b| / max(max|a|, max|b|)
    （要素ごとに割ると、勾配が 0 に近い成分で正しい実装でも誤差が大きく見えるため）"""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)))
    if scale == 0.0:
        return 0.0
    return float(np.max(np.abs(a - b)) / scale)


# --- what a failure shows ---


class VisibleTestFailed(AssertionError):
    """A failed visible check: IPython shows only `lines` (the message and the numbers that help)."""

    def __init__(self, title: str, lines: Sequence[str], findings: Sequence[Finding] = ()) -> None:
        self.title = title
        self.lines = [ln for ln in lines if ln][: MAX_LINES - 1]
        self.findings = tuple(findings)
        super().__init__("\n".join([title, *self.lines]))

    def _render_traceback_(self) -> list[str]:
        return [f"{RED}{BOLD}✗ {self.title}{RESET}", *self.lines]


def failed(part: str, *lines: str, findings: Sequence[Finding] = ()) -> VisibleTestFailed:
    return VisibleTestFailed(f"{part}: 可視テストに不合格", lines, findings)


def passed(part: str, case: str) -> None:
    print(f"✓ {part}: 可視テストに合格しました{case}")


def ipython() -> Any:
    try:
        return get_ipython()  # type: ignore[name-defined]  # defined inside IPython only
    except NameError:
        return None


def show_picture(quantity: str, got: Any, expected: np.ndarray, title: str) -> None:
    """The feedback's picture (yours, the right one, the difference) under the failing test, in Jupyter."""
    shell = ipython()
    if shell is None or not hasattr(shell, "display_pub"):
        return
    from IPython.display import display

    png = gradient_figure(quantity, got, expected, title)
    alt = f"{quantity} の図: 左があなたの勾配、中央が正しい勾配（数値微分）、右がその差です"
    bundle = {"text/html": img_tag(png, alt), "image/png": base64.b64encode(png).decode("ascii"), "text/plain": alt}
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


# --- a student's call ---


def method_name(exc: BaseException, default: str) -> str:
    """Class.method of the innermost frame with a `self` in exc's traceback (the stub that raised)."""
    name, tb = default, exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        # the student's layer or loss (it has a backward), not this module's helpers nor IPython's
        if hasattr(owner, "backward") and type(owner).__module__ != __name__:
            name = f"{type(owner).__name__}.{tb.tb_frame.f_code.co_name}"
        tb = tb.tb_next
    return name


def not_implemented(name: str) -> str:
    return f"{name} はまだ実装されていません（raise NotImplementedError() を消して実装してください）"


NONE_PLUS = re.compile(r"unsupported operand type\(s\) for \+=?: 'NoneType'")


def none_accumulated(name: str) -> str:
    return (
        f"{name} で、まだ None の勾配に += で足し込もうとしています（grads の最初の値は None です）。"
        "grads には += で足し込まず、self.grads['W'] = ... のように代入してください"
    )


@contextmanager
def student_call(part: str, default: str) -> Iterator[None]:
    """A call into the student's code: a stub or a += on None becomes a short Japanese failure."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an overflow is reported as a message below
            yield
    except NotImplementedError as exc:
        raise failed(part, not_implemented(method_name(exc, default))) from None
    except VisibleTestFailed:
        raise
    except TypeError as exc:
        if NONE_PLUS.search(str(exc)):
            raise failed(
                part,
                none_accumulated(method_name(exc, default)),
                findings=[Finding("accumulates", "grads", "None に += しています")],
            ) from None
        raise failed(part, *raised_in_student_code(exc, default)) from None
    except Exception as exc:
        raise failed(part, *raised_in_student_code(exc, default)) from None


def raised_in_student_code(exc: BaseException, default: str) -> list[str]:
    """What the student's code raised, and where in it (the innermost frame outside this namespace
    and NumPy): the traceback through the checks would only hide it."""
    import linecache

    where, tb = "", exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename != "<nb74>" and "numpy" not in code.co_filename and "contextlib" not in code.co_filename:
            line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
            where = (
                f"{code.co_name} の {tb.tb_lineno} 行目: {line}" if line else f"{code.co_name} の {tb.tb_lineno} 行目"
            )
        tb = tb.tb_next
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    lines = [
        f"{method_name(exc, default)} の実行中にエラーが出ました: {type(exc).__name__}{': ' + detail if detail else ''}"
    ]
    if where:
        lines.append(f"場所: {where}")
    if "matmul" in detail or "shapes" in detail and "aligned" in detail:
        lines.append(
            "行列積の形状が合いません。転置（.T）が抜けていないか、掛ける順番が逆でないかを確かめてください（形状を紙に書くと確実です）"
        )
    return lines


def call_backward(part: str, backward: Callable[..., Any], *args: Any) -> Any:
    with student_call(part, getattr(backward, "__qualname__", "backward")):
        return backward(*args)


def as_array(part: str, what: str, value: Any) -> np.ndarray:
    if value is None:
        raise failed(part, f"{what} が None です。backward で計算して、return / 代入してください")
    if not isinstance(value, (np.ndarray, np.generic)):  # a NumPy scalar is judged by its shape
        kind = type(value).__name__
        raise failed(
            part,
            f"{what} が np.ndarray ではありません（{kind}）。NumPy 配列のまま返してください（.tolist() などは不要です）",
            findings=[Finding("not_ndarray", what, "np.ndarray ではありません")],
        )
    if value.dtype == np.float32:
        raise failed(
            part,
            f"{what} が float32 の配列です。float32 で計算していませんか。配列は float64 のまま計算してください",
            findings=[Finding("precision", what, "float32")],
        )
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise failed(part, f"{what} が数値の配列ではありません（dtype {value.dtype}）") from None


# --- IPython: a stub's NotImplementedError (and += on None) in any cell, in one Japanese line ---


def _short_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    if isinstance(value, NotImplementedError):
        name = method_name(value, "")
        text = (
            not_implemented(name)
            if name
            else "この解答欄はまだ実装されていません（raise NotImplementedError() を消して解答を書いてください）"
        )
        stb = [f"{RED}{BOLD}NotImplementedError{RESET}: {text}"]
    elif isinstance(value, TypeError) and NONE_PLUS.search(str(value)):
        stb = [f"{RED}{BOLD}TypeError{RESET}: {none_accumulated(method_name(value, 'backward'))}"]
    else:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)
    return list(stb)


def install() -> None:
    """In IPython: show a stub's NotImplementedError and a += on a None gradient in one Japanese line."""
    shell = ipython()
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((NotImplementedError, TypeError), _short_error)
