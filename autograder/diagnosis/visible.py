"""The release notebook's visible tests: checks a student runs in Jupyter, with Japanese messages.

`python -m autograder build` executes this module's code, with the other modules of
autograder/diagnosis/ (the judge's diagnosis and the feedback's pictures), into one namespace `nb74` in a hidden given cell of the notebook, so no name the
student defines (`sigmoid = Sigmoid()`) can break a check. The test cells call
`nb74.check_linear(Linear)` and so on.

A failing check raises `VisibleTestFailed`, whose `_render_traceback_` makes IPython show only the
Japanese message (at most MAX_LINES lines, no traceback through this code), after a picture of
the gradients (yours, the right one, the difference) where numbers differ. A part that uses
another (the MLP, the exercises) re-checks the parts it uses and names the one to fix first.
`install()` makes IPython show a NotImplementedError from a stub, in any cell, as one Japanese
line naming the method to implement, and a `+=` on a gradient that is still None likewise.

The expected values are central differences of the given forward (REFERENCE_FORWARD, the
notebook's own forward code), never of the student's forward: as in the judge, a changed
forward is reported, not graded against.
"""

from __future__ import annotations

import base64
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from autograder.diagnosis.diagnosis import diagnose
from autograder.diagnosis.findings import Finding
from autograder.diagnosis.heatmaps import gradient_figure, img_tag
from autograder.diagnosis.known_mistakes import FORMULAS, alternatives, sizes

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


# --- comparing one gradient ---


def where_worst(got: np.ndarray, expected: np.ndarray) -> str:
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(got - expected)), got.shape))
    return f"位置 {idx} で 期待 {expected[idx]:.6g}, 実際 {got[idx]:.6g}"


Explain = Callable[[np.ndarray], list[Finding]]


def compare(
    part: str,
    what: str,
    quantity: str,
    got: np.ndarray,
    expected: np.ndarray,
    explain: Explain | None = None,
    hints: Sequence[tuple[np.ndarray, str, str]] = (),
    picture: bool = True,
) -> None:
    """got (the student's, float64) against expected; a failure names the mistake when one fits."""
    if got.shape == expected.shape and np.all(np.isfinite(got)) and relative_error(got, expected) <= GRAD_TOL:
        return
    if got.shape != expected.shape:
        head = f"{what} の形状が違います: 期待 {expected.shape}, 実際 {got.shape}"
    elif not np.all(np.isfinite(got)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        head = f"{what} に NaN または inf が含まれています（位置 {idx}）"
    else:
        err = relative_error(got, expected)
        head = f"{what} の値が違います: 最大相対誤差 {err:.2e}（許容 {GRAD_TOL:.0e}）、{where_worst(got, expected)}"
    for value, meaning, code in hints:
        if value.shape == got.shape and relative_error(got, value) <= DIAGNOSIS_TOL:
            raise failed(part, head, meaning, findings=[Finding(code, quantity, meaning)])
    findings = explain(got) if explain is not None else []
    if picture:
        show_picture(quantity, got, expected, f"{part}: {quantity}")
    lines = [head, *(f"見立て: {f.message}" for f in findings)]
    if picture and got.size and expected.size:
        lines.append("上の図: 左があなたの勾配、中央が正しい勾配（数値微分）、右がその差です")
    raise failed(part, *lines, findings=findings)


def explainer(class_name: str, key: str, expected: np.ndarray, x: np.ndarray, **inputs: Any) -> Explain:
    """The judge's diagnosis of a wrong gradient `key` of class_name on these inputs."""
    quantity = key if key.startswith("d") else f"d{key}"

    def run(got: np.ndarray) -> list[Finding]:
        W = inputs.get("W")
        return diagnose(
            quantity,
            got,
            expected,
            sizes(class_name, x, W),
            FORMULAS.get(class_name, {}).get(key, ""),
            alternatives(class_name, x, inputs.get("dout"), W, inputs.get("t")).get(key, []),
            tol=DIAGNOSIS_TOL,
        )

    return run


# --- the given forward of each class: the expected values are its central differences ---


def _softmax_ce(x: np.ndarray, t: np.ndarray) -> float:
    t = np.asarray(t)
    onehot = np.eye(x.shape[1])[t.astype(int)] if t.ndim == 1 else t
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return float(-np.sum(onehot * log_p) / x.shape[0])


def _sigmoid_forward(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    y: np.ndarray = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return y


REFERENCE_FORWARD: dict[str, Callable[..., Any]] = {
    "Linear": lambda x, W, b: x @ W + b,
    "Sigmoid": _sigmoid_forward,
    "ReLU": lambda x: np.maximum(0, x),
    "Tanh": np.tanh,
    "MSELoss": lambda y, t: float(np.mean((y - t) ** 2)),
    "SoftmaxCrossEntropy": _softmax_ce,
}


def check_forward(part: str, class_name: str, got: Any, expected: Any) -> None:
    with np.errstate(all="ignore"):
        g, e = np.atleast_1d(np.asarray(got, dtype=np.float64)), np.atleast_1d(np.asarray(expected, dtype=np.float64))
        same = g.shape == e.shape and relative_error(g, e) <= FORWARD_TOL
    if not same:
        why = "順伝播（forward）が用意されたものと違う値を返しています。forward は変更しないでください（採点は用意された順伝播の勾配と比べます）"
        raise failed(
            part, f"{class_name}.forward の結果が違います。", why, findings=[Finding("forward_changed", "forward", why)]
        )


# --- one layer or loss: forward(x) → backward → forward(x2) → backward → backward again ---


STALE = "1 回目の forward（または 1 回目の backward）のときの値を使っています。backward では毎回、直前の forward のキャッシュから計算してください"
SUMMED = "1 回目と 2 回目の勾配の和になっています。grads には += で足し込まず、代入してください"
ACCUMULATED = "前の backward の勾配に足し込んでいます。grads には += で足し込まず、代入してください"
KEPT = "1 回目の値のままです。毎回計算し直してください"
DOUT_CHANGED = (
    "{cls}.backward が引数 dout をその場で書き換えています（dout *= ... や dout[...] = ... など）。"
    "上流の勾配は他の層でも使われるので、新しい配列を作って返してください"
)
CACHE_CHANGED = "backward が self.cache の配列をその場で書き換えていないか（{example} など）を確認してください"


class Subject:
    """A layer (Linear, an activation) or a loss of the student, with its given forward's gradients."""

    def __init__(self, cls: type, params: dict[str, np.ndarray] | None = None, t: Any = None) -> None:
        self.cls, self.name = cls, cls.__name__
        # the assignment's class it is (a subclass of it too, under another name)
        self.kind = next((c.__name__ for c in cls.__mro__ if c.__name__ in REFERENCE_FORWARD), self.name)
        self.part = PART_OF.get(self.kind, f"{self.name}.backward")
        self.params = params or {}
        self.t = t
        self.loss = self.kind in RESULT_NAME
        self.result = RESULT_NAME.get(self.kind, "dx")

    def new(self) -> Any:
        with student_call(self.part, f"{self.name}.__init__"):
            obj = self.cls(*self.params["W"].shape) if self.params else self.cls()
        for k, v in self.params.items():
            obj.params[k] = v.copy()
        forward_calls = [0]
        original = obj.forward

        def counted(*args: Any) -> Any:
            forward_calls[0] += 1
            return original(*args)

        obj.forward, obj.forward_calls = counted, forward_calls
        return obj

    def reference(self, x: np.ndarray) -> Any:
        f = REFERENCE_FORWARD[self.kind]
        return f(x, self.t) if self.loss else f(x, *[self.params[k] for k in ("W", "b") if k in self.params])

    def expected(self, x: np.ndarray, dout: np.ndarray | None) -> dict[str, np.ndarray]:
        """Central differences of L = sum(forward(x) * dout) (a loss: L itself) of the given forward."""
        if self.loss:
            return {self.result: numerical_gradient(self.reference, x)}
        out = {"dx": numerical_gradient(lambda v: np.sum(self.reference(v) * dout), x)}
        f = REFERENCE_FORWARD[self.kind]
        for k in self.params:
            others = dict(self.params)

            def loss(v: np.ndarray, k: str = k, others: dict[str, np.ndarray] = others) -> float:
                return float(np.sum(f(x, **(others | {k: v})) * dout))

            out[k] = numerical_gradient(loss, self.params[k])
        return out

    def label(self, key: str) -> str:
        if key == self.result:
            return f"{self.name}.backward の戻り値 {key}"
        return f"d{key} = {self.name}.grads['{key}']"

    def forward(self, obj: Any, x: np.ndarray) -> None:
        with student_call(self.part, f"{self.name}.forward"):
            out = obj.forward(x, self.t) if self.loss else obj.forward(x)
        check_forward(self.part, self.name, out, self.reference(x))

    def backward(self, obj: Any, dout: np.ndarray | None) -> dict[str, np.ndarray]:
        """One backward; its result and grads as float64 copies (checked to be arrays)."""
        before = obj.forward_calls[0]
        if self.loss:
            raw = call_backward(self.part, obj.backward)
        else:
            sent = np.array(dout)
            arg = sent.copy()
            raw = call_backward(self.part, obj.backward, arg)
            if not np.array_equal(arg, sent):
                text = DOUT_CHANGED.format(cls=self.name)
                raise failed(self.part, text, findings=[Finding("mutates_dout", "dout", text)])
        if obj.forward_calls[0] > before:
            text = (
                f"{self.name}.backward の中で forward が {obj.forward_calls[0] - before} 回呼ばれました。"
                "数値微分ではなく、キャッシュを使って解析的に勾配を計算してください"
            )
            raise failed(self.part, text, findings=[Finding("numerical", self.result, text)])
        got = {self.result: as_array(self.part, self.label(self.result), raw)}
        for k in self.params:
            value = obj.grads.get(k, None) if isinstance(obj.grads, dict) else None
            if value is None:
                text = (
                    f"{self.label(k)} が{'ありません' if k not in obj.grads else ' None のままです'}。"
                    f"backward で self.grads['{k}'] に代入してください（キーは '{k}' です）"
                )
                raise failed(self.part, text, findings=[Finding("missing_grad", f"d{k}", text)])
            got[k] = as_array(self.part, self.label(k), value)
        return got

    def check(self, x: np.ndarray, x2: np.ndarray, dout: np.ndarray | None, case: str, picture: bool = True) -> None:
        exp, exp2 = self.expected(x, dout), self.expected(x2, dout)
        obj = self.new()
        self.forward(obj, x)
        first = self.backward(obj, dout)
        inputs: dict[str, Any] = {"dout": dout, "W": self.params.get("W"), "t": self.t}
        for key, e in exp.items():
            explain = explainer(self.kind, key, e, x, **inputs)
            compare(self.part, f"{self.label(key)}{case}", self.quantity(key), first[key], e, explain, picture=picture)
        self.forward(obj, x2)
        latest = self.backward(obj, dout)
        for key, e in exp2.items():
            hints = [(exp[key], STALE, "stale_cache")]
            if key != self.result:
                hints.insert(0, (exp[key] + e, SUMMED, "accumulates"))
            what = f"forward → backward → 別の入力で forward → backward としたときの {self.label(key)}"
            compare(self.part, what, self.quantity(key), latest[key], e, hints=hints, picture=False)
        factor = 1.0 if self.loss else REPEAT_FACTOR
        again = self.backward(obj, None if dout is None else factor * dout)
        for key, e in exp2.items():
            hints = [] if factor == 1 else [(latest[key], KEPT, "stale_cache")]
            if key != self.result:
                hints = [(latest[key] + factor * e, ACCUMULATED, "accumulates")] + hints
            what = f"同じ forward の後に backward を 2 回呼んだときの 2 回目の {self.label(key)}" + (
                "（1 回目と同じになるはずです）"
                if factor == 1
                else f"（2 回目の dout は 1 回目の {factor:g} 倍なので、{factor:g} 倍になるはずです）"
            )
            try:
                compare(self.part, what, self.quantity(key), again[key], factor * e, hints=hints, picture=False)
            except VisibleTestFailed as exc:
                if exc.findings:
                    raise
                example = "p -= t、p[...] -= 1" if self.loss else "y *= ..."
                text = CACHE_CHANGED.format(example=example)
                raise failed(self.part, *exc.lines, text, findings=[Finding("mutates_cache", key, text)]) from None

    def quantity(self, key: str) -> str:
        return key if key.startswith("d") else f"d{key}"


def check_linear(Linear: type, shapes: Sequence[tuple[int, int, int]] = LINEAR_SHAPES, seed: int = 0) -> None:
    """Linear.backward を (N, D_in, D_out) の各形状で数値勾配と比べ、backward の決まりも確かめる。"""
    rng = np.random.default_rng(seed)
    for N, D_in, D_out in shapes:
        W, b = rng.standard_normal((D_in, D_out)), rng.standard_normal(D_out)
        x, dout, x2 = rng.standard_normal((N, D_in)), rng.standard_normal((N, D_out)), rng.standard_normal((N, D_in))
        case = f"（N={N}, D_in={D_in}, D_out={D_out}）"
        Subject(Linear, {"W": W, "b": b}).check(x, x2, dout, case)
        passed("Linear.backward", case)


def visible_activation_input(name: str) -> np.ndarray:
    seed, scale = ACTIVATION_SEEDS[name]
    x = np.random.default_rng(seed).standard_normal(ACTIVATION_SHAPES[name]) * scale
    return np.where(np.abs(x) < 0.1, 0.5, x) if name == "ReLU" else x  # no difference across the kink


def check_activation(layer_class: type, x: Any = None, seed: int = 0) -> None:
    """活性化層の backward を数値勾配と比べ（x は入力、省略時は可視テストの入力）、backward の決まりも確かめる。
    可視テストでは、とても大きな |x|（Sigmoid・Tanh）や折れ目の近く（ReLU）の入力も使います。"""
    name = layer_class.__name__
    inputs = [np.asarray(x, dtype=np.float64)] if x is not None else [visible_activation_input(name)]
    if x is None:
        inputs.append(NEAR_KINK if name == "ReLU" else LARGE_INPUT)
    rng = np.random.default_rng(seed)
    for v in inputs:
        dout = rng.standard_normal(v.shape)
        # the second forward: every sign flipped (each ReLU mask changes) and other sizes (σ', tanh' change)
        extreme = (
            "、|x| の大きな入力"
            if np.max(np.abs(v)) > 100
            else "、折れ目のすぐ近くの入力"
            if np.max(np.abs(v)) < 1e-2
            else ""
        )
        case = f"（形状 {v.shape}{extreme}）"
        Subject(layer_class).check(v, -0.7 * v, dout, case)
        passed(PART_OF.get(name, f"{name}.backward"), case)


VISIBLE_LOSS_INPUTS: dict[str, Callable[[], list[tuple[np.ndarray, np.ndarray]]]] = {
    "MSELoss": lambda: [tuple(np.random.default_rng(4).standard_normal((2, 4, 3)))],
    "SoftmaxCrossEntropy": lambda: _softmax_inputs(np.random.default_rng(5)),
}


def _softmax_inputs(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Class numbers and one-hot targets, both drawn from one generator (in this order), and
    logits of ±1000 (exp without the max shift overflows)."""
    first = (rng.standard_normal((4, 3)) * 2, np.array([0, 2, 1, 2]))
    large = (np.array([[1000.0, 0.0, -1000.0], [0.5, -0.5, 1000.0]]), np.array([2, 0]))
    return [first, (rng.standard_normal((2, 4)), np.eye(4)[[3, 0]]), large]


def check_loss(loss_class: type, y: Any = None, t: Any = None) -> None:
    """損失関数の backward を数値勾配と比べ（y は予測またはロジット、t は正解。省略時は可視テストの入力）、
    backward の決まりも確かめる。"""
    cases = [(y, t)] if y is not None else VISIBLE_LOSS_INPUTS[loss_class.__name__]()
    for yy, tt in cases:
        yy = np.asarray(yy, dtype=np.float64)
        onehot = "、one-hot の正解" if np.ndim(tt) == 2 and loss_class.__name__ != "MSELoss" else ""
        case = f"（形状 {yy.shape}{onehot}{'、|x| の大きな入力' if np.max(np.abs(yy)) > 100 else ''}）"
        Subject(loss_class, t=np.asarray(tt)).check(yy, -0.7 * yy, None, case)
        passed(PART_OF.get(loss_class.__name__, f"{loss_class.__name__}.backward"), case)


# --- parts that use others: the MLP, the exercises ---


def recheck(cls: type) -> VisibleTestFailed | None:
    """The failure of cls's own visible test (quiet: no picture, no ✓ line), or None if it passes."""
    import contextlib
    import io

    name = cls.__name__
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            if name == "Linear":
                check_linear(cls)
            elif name in ACTIVATION_SEEDS:
                check_activation(cls)
            elif name in VISIBLE_LOSS_INPUTS:
                check_loss(cls)
            else:
                return None
    except VisibleTestFailed as exc:
        return exc
    return None


def blame(part: str, classes: Sequence[type]) -> VisibleTestFailed | None:
    """A failure naming the first used class whose own visible test fails, or whose two layers
    share state (the MLP's part), or None."""
    for cls in dict.fromkeys(classes):
        exc = recheck(cls)
        if exc is not None:
            method = PART_OF.get(cls.__name__, f"{cls.__name__}.backward")
            first = exc.lines[0] if exc.lines else ""
            return failed(
                part,
                f"原因は {method} です（{cls.__name__} の可視テストが不合格: {first}）。",
                f"まず {method} を直してください。{INDEPENDENT}",
                findings=exc.findings,
            )
    for cls in dict.fromkeys(classes):
        shared = shared_state(part, cls)
        if shared is not None:
            if part == MLP_PART:
                return shared
            return failed(
                part,
                f"原因は {MLP_TITLE} です（6.2 の可視テストが不合格）: {cls.__name__} の層を 2 つ作ると、状態を共有しています。",
                f"{SHARED}。{INDEPENDENT}",
                findings=shared.findings,
            )
    return None


INDEPENDENT = "採点ではこの部分は独立に採点されます（ほかの部分には正しい実装を使うので、二重には減点されません）。"
MLP_PART, MLP_TITLE = "MLP の逆伝播", "MLP の逆伝播（層の連結）"
SHARED = "2 つの層が状態を共有しています。キャッシュや勾配はクラス変数やグローバル変数ではなく、その層の self.cache / self.grads に保存してください"


def shared_state(part: str, cls: type) -> VisibleTestFailed | None:
    """Two layers of cls, forward both, backward the first: must be the first's gradient."""
    rng = np.random.default_rng(11)
    x1, x2 = rng.standard_normal((3, 4)) + 0.3, rng.standard_normal((3, 4)) - 0.3
    params = {"W": rng.standard_normal((4, 2)), "b": rng.standard_normal(2)} if cls.__name__ == "Linear" else None
    s = Subject(cls, params)
    dout = rng.standard_normal((3, 2) if params else (3, 4))
    try:  # a failure of the layer itself is its own visible test's to report
        a, b = s.new(), s.new()
        with student_call(part, f"{cls.__name__}.forward"):
            a.forward(x1)
            b.forward(x2)
        got = s.backward(a, dout)
    except VisibleTestFailed:
        return None
    exp = s.expected(x1, dout)
    if all(got[k].shape == e.shape and relative_error(got[k], e) <= GRAD_TOL for k, e in exp.items()):
        return None
    return failed(
        part,
        f"{cls.__name__} の層を 2 つ作り、1 つ目、2 つ目の順に forward してから 1 つ目の backward を呼ぶと、勾配が違います。",
        SHARED,
        findings=[Finding("shared_state", cls.__name__, SHARED)],
    )


def check_mlp(MLP: type, layer_dims: Sequence[int], activation: str, N: int, seed: int = 0) -> None:
    """層を MLP につないだときの逆伝播を数値勾配と比べる。違えば、使っている層の可視テストを調べ直し、
    直すべき層を伝える。"""
    part = MLP_PART
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    with student_call(part, "MLP"):
        model = MLP(list(layer_dims), activation=activation)
    classes = [type(layer) for layer in model.layers]
    X = rng.standard_normal((N, layer_dims[0]))
    dout = rng.standard_normal((N, layer_dims[-1]))
    case = f"MLP({list(layer_dims)}, '{activation}')"
    try:
        with student_call(part, "MLP.forward"):
            model.forward(X)
        dx = as_array(part, f"{case} の dx", call_backward(part, model.backward, dout.copy()))
        with student_call(part, "MLP.forward"):
            num_dx = numerical_gradient(lambda v: np.sum(model.forward(v) * dout), X)
        compare(part, f"{case} の dx", "dx", dx, num_dx, picture=False)
        with student_call(part, "MLP.forward"):
            model.forward(X)
        call_backward(part, model.backward, dout.copy())
        for i, (layer, name, param) in enumerate(model.get_params()):
            grad = as_array(part, f"{case} の {i} 番目のパラメータ {type(layer).__name__}.{name}", layer.grads[name])

            def loss(v: np.ndarray, layer: Any = layer, name: str = name) -> float:
                saved = layer.params[name]
                layer.params[name] = v
                out = float(np.sum(model.forward(X) * dout))
                layer.params[name] = saved
                return out

            with student_call(part, "MLP.forward"):
                expected = numerical_gradient(loss, param)
            compare(
                part,
                f"{case} の {i} 番目のパラメータ {type(layer).__name__}.{name}",
                f"d{name}",
                grad,
                expected,
                picture=False,
            )
    except VisibleTestFailed:
        cause = blame(part, classes)
        if cause is not None:
            raise cause from None
        raise
    for cls in dict.fromkeys(classes):  # two layers of a class may share state on other inputs
        shared = shared_state(part, cls) if recheck(cls) is None else None
        if shared is not None:
            raise shared
    passed(part, f"（{case}、N={N}）")


EXERCISES: dict[str, dict[str, Any]] = {
    "8.1": {"dims": [(2, 4), (4, 3)], "arch": "MLP([2, 4, 3])", "loss": "SoftmaxCrossEntropy", "inputs": 2},
    "8.2": {"dims": [(3, 8), (8, 8), (8, 4), (4, 1)], "arch": "MLP([3, 8, 8, 4, 1])", "loss": "MSELoss", "inputs": 3},
}


def last_cell_error() -> BaseException | None:
    """The exception the cell run last stopped with (in Jupyter / IPython; elsewhere None)."""
    shell = ipython()
    result = getattr(shell, "last_execution_result", None)
    return getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)


def check_exercise(section: str, ns: dict[str, Any]) -> None:
    """演習の可視テスト: 表の変数がそろい、形状が合い、勾配チェックに合格しているか（ns は globals()）。"""
    part = f"演習 {section}"
    spec, suffix = EXERCISES[section], section.replace(".", "")
    names = [f"{v}_{suffix}" for v in ("model", "loss", "X", "t", "passed")]
    missing = [n for n in names if n not in ns]
    if missing:
        error = last_cell_error()
        stub = method_name(error, "") if isinstance(error, NotImplementedError) else ""
        if stub:
            raise failed(
                part,
                f"演習 {section} の解答欄のセルが止まりました: {not_implemented(stub)}。",
                f"そのため変数 {', '.join(missing)} が作られていません。{stub} を実装してから、解答欄のセルとこのテストを実行し直してください。",
            )
        if isinstance(error, NotImplementedError):
            raise failed(
                part,
                f"演習 {section} の解答欄のセルが NotImplementedError で止まったため、変数 {', '.join(missing)} が作られていません。",
                "解答欄の raise NotImplementedError() を消して、表の変数を作ってください（先に backward を実装しておくと勾配チェックが通ります）。",
            )
        if error is not None:
            cause = blame(part, [ns[c] for c in PART_OF if isinstance(ns.get(c), type)])
            if cause is not None:
                raise cause from None
        if error is not None:
            detail = str(error).strip().splitlines()[0][:150] if str(error).strip() else ""
            raise failed(
                part,
                f"演習 {section} の解答欄のセルがエラー（{type(error).__name__}{': ' + detail if detail else ''}）で止まったため、"
                f"変数 {', '.join(missing)} が作られていません。",
                "解答欄のセルの出力でエラーの場所を確かめて直し、そのセルを実行し直してから、このテストを実行してください。",
            )
        raise failed(
            part,
            f"変数 {', '.join(missing)} がありません。演習 {section} の解答欄のセルを実行しましたか？",
            "表のとおりの名前で作ってください（解答欄のセルが途中でエラーで止まっていないかも確かめてください）。",
        )
    error = last_cell_error()
    if error is not None:  # the answer cell (run just before) stopped after making the variables
        detail = str(error).strip().splitlines()[0][:150] if str(error).strip() else ""
        raise failed(
            part,
            f"直前に実行したセル（ふつうは演習 {section} の解答欄）がエラー（{type(error).__name__}{': ' + detail if detail else ''}）で止まっています。",
            "採点では解答欄のセルが最後までエラーなく実行できることも確かめます。エラーを直して、解答欄のセルとこのテストを実行し直してください。",
        )
    model, loss_fn, X = ns[names[0]], ns[names[1]], ns[names[2]]
    dims = [layer.params["W"].shape for layer in getattr(model, "layers", []) if "W" in getattr(layer, "params", {})]
    if dims != spec["dims"]:
        raise failed(part, f"{names[0]} の重みの形状が {dims} です。{spec['arch']} なら {spec['dims']} です。")
    if type(loss_fn).__name__ != spec["loss"]:
        raise failed(part, f"{names[1]} は {spec['loss']}() にしてください（いまは {type(loss_fn).__name__}）。")
    if not (np.ndim(X) == 2 and np.shape(X)[1] == spec["inputs"] and np.shape(X)[0] >= 2):
        raise failed(part, f"{names[2]} の形状が {np.shape(X)} です。(N, {spec['inputs']})（N ≥ 2）にしてください。")
    if ns[names[4]] is not True:
        classes = [type(layer) for layer in model.layers] + [type(loss_fn)]
        cause = blame(part, classes)
        if cause is not None:
            raise cause from None
        raise failed(
            part,
            f"{names[4]} が True ではありません（{ns[names[4]]!r}）。",
            "勾配チェックの出力で、どのパラメータが NG かを確認してください（入力がすべて 0 など、折れ目の上の入力になっていませんか）。",
        )
    passed(part, "")


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
