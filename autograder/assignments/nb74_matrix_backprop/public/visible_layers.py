"""The visible checks of one layer or loss (check_linear, check_activation, check_loss; see
visible.py): one gradient compared against central differences of the given forward, and the
`Subject` that runs forward → backward → forward → backward → backward again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .diagnosis import diagnose
from .findings import Finding
from .known_mistakes import FORMULAS, alternatives, sizes
from .visible_common import (
    ACTIVATION_SEEDS,
    ACTIVATION_SHAPES,
    DIAGNOSIS_TOL,
    FORWARD_TOL,
    GRAD_TOL,
    LARGE_INPUT,
    LINEAR_SHAPES,
    NEAR_KINK,
    PART_OF,
    REPEAT_FACTOR,
    RESULT_NAME,
    VisibleTestFailed,
    as_array,
    call_backward,
    failed,
    numerical_gradient,
    passed,
    relative_error,
    show_picture,
    student_call,
)

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
