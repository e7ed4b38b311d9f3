"""Which mistake a wrong gradient shows: hypotheses tested against the right gradient.

The judge knows the right gradient on its own inputs, and most backprop bugs leave a signature in
the numbers: a missing 1/N gives a constant ratio of exactly N, a transpose the right values in
the wrong layout, a sign flip a ratio of -1. `diagnose` tests those families in turn and returns
the findings that fit to rounding. Part-specific mistakes (dout not multiplied in, another
function's derivative, a wrong ReLU mask) cannot be recognised from the two arrays alone: the
caller computes what each such mistake would give on the same inputs and passes it as an
`Alternative`. When nothing fits, the finding is `unknown`: a diagnosis that is not sure says so.

This module needs only NumPy and the standard library: the release's visible tests use the same
code on their public inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A hypothesis fits when it reproduces the student's array to this max-normalised error. The same
# formula in float64 in another order differs by ~1e-15; float32 arithmetic by ~1e-7.
FIT_TOL = 1e-9
# float32 arithmetic leaves relative errors near its epsilon, 6e-8; float64 bugs are exact or far off.
FLOAT32_BAND = (1e-9, 1e-4)


@dataclass(frozen=True)
class Dims:
    """The sizes a scale factor may be made of: N batch size, D output width, C classes."""

    N: int
    D: int | None = None
    C: int | None = None


@dataclass(frozen=True)
class Alternative:
    """What one known mistake of this part gives on the grader's inputs."""

    code: str  # e.g. "ignores_dout", "wrong_derivative", "relu_mask"
    mistake: str  # Japanese: what the student would have written, e.g. "y(1 + y)"
    value: np.ndarray


@dataclass(frozen=True)
class Finding:
    code: str
    quantity: str  # "dW", "db", "dx", ...
    message: str  # Japanese: the likely mistake and the formula to check
    factor: float | None = None
    factor_name: str | None = None

    def as_json(self, part: str) -> dict[str, object]:
        return {
            "part": part,
            "quantity": self.quantity,
            "code": self.code,
            "factor": self.factor,
            "factor_name": self.factor_name,
            "message": self.message,
        }


def named_factors(dims: Dims) -> dict[str, float]:
    """The factors a scale error is usually made of, by the name a student would recognise."""
    N, D, C = dims.N, dims.D, dims.C
    named: dict[str, float] = {"N": N, "1/N": 1 / N, "2": 2.0, "1/2": 0.5}
    if D is not None:
        named |= {"D": D, "1/D": 1 / D, "N*D": N * D, "1/(N*D)": 1 / (N * D)}
    if C is not None:
        named |= {"C": C, "1/C": 1 / C, "N/C": N / C}
    return named


def factor_names(factor: float, dims: Dims) -> list[str]:
    return [name for name, value in named_factors(dims).items() if abs(factor - value) <= FIT_TOL * abs(value)]


def fits(got: np.ndarray, hypothesis: np.ndarray, tol: float = FIT_TOL) -> bool:
    """got equals the hypothesis to rounding (same shape, finite, max-normalised error ≤ tol)."""
    if got.shape != hypothesis.shape or not (np.all(np.isfinite(got)) and np.all(np.isfinite(hypothesis))):
        return False
    scale = max(float(np.max(np.abs(hypothesis), initial=0.0)), 1e-300)
    return float(np.max(np.abs(got - hypothesis), initial=0.0)) <= tol * scale


def diagnose(
    quantity: str,
    got: np.ndarray,
    expected: np.ndarray,
    dims: Dims,
    formula: str = "",
    alternatives: Sequence[Alternative] = (),
    tol: float = FIT_TOL,
) -> list[Finding]:
    """The findings for one wrong gradient (got) against the right one (expected), both float64.

    tol: how closely a hypothesis must reproduce got, max-normalised. FIT_TOL when expected is
    exact (the judge's reference); looser when expected is itself a numerical gradient (the
    visible tests' central differences, whose own error is about 1e-9 relative)."""
    check = f"（正しくは {quantity} = {formula}）" if formula else ""
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        return [Finding("overflow", quantity, overflow_message(quantity) + check)]
    if got.shape != expected.shape:
        return [shape_finding(quantity, got, expected, dims, check)]
    if in_float32(got, expected):
        return [Finding("precision", quantity, precision_message(quantity))]
    if fits(got, expected, tol):
        return []
    for alt in alternatives:
        if fits(got, alt.value, tol):
            return [Finding(alt.code, quantity, f"{quantity} が「{alt.mistake}」の値になっています。{check}")]
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and fits(got, expected.T, tol):
        return [Finding("transposed", quantity, f"{quantity} が正しい値の転置になっています。{check}")]
    ratio = scale_of(got, expected, tol)
    if ratio is not None:
        return [scale_finding(quantity, ratio, dims, check)]
    if fits(got, expected, tol=FLOAT32_BAND[1]):
        text = f"{quantity} は正しい値に近いですが、丸め誤差より大きくずれています（数値微分や近似を使っていませんか）。{check}"
        return [Finding("unknown", quantity, text)]
    return [
        Finding("unknown", quantity, f"{quantity} が違います。よくある間違いのどれにも当てはまりませんでした。{check}")
    ]


def scale_of(got: np.ndarray, expected: np.ndarray, tol: float = FIT_TOL) -> float | None:
    """The constant c with got = c · expected, if there is one (c ≠ 0, 1)."""
    norm = float(np.sum(expected * expected))
    if norm == 0.0:
        return None
    c = float(np.sum(got * expected)) / norm
    if c == 0.0 or abs(c - 1.0) <= tol or not fits(got, c * expected, tol):
        return None
    return c


def scale_finding(quantity: str, c: float, dims: Dims, check: str) -> Finding:
    names = factor_names(abs(c), dims)
    name = names[0] if len(names) == 1 else None
    # the named value exactly, else three digits as in the message (a ratio made of an input's
    # value would show no more of it than that)
    c = float(np.copysign(named_factors(dims)[name], c)) if name else float(f"{c:.3g}")
    if len(names) > 1:  # e.g. N == D on these inputs: say both, pick neither
        told = "・".join(names) + " のどれか（この入力では区別できません）"
    else:
        told = name if name is not None else f"{abs(c):.3g}"
    if c < 0 and abs(abs(c) - 1.0) <= FIT_TOL:
        return Finding("sign", quantity, f"{quantity} の符号が逆です（正しい値の −1 倍）。{check}", -1.0, None)
    if c < 0:
        text = f"{quantity} の符号が逆で、大きさも {told} 倍です。符号と係数の両方を確かめてください。{check}"
        return Finding("sign", quantity, text, c, name)
    text = f"{quantity} が正しい値の {told} 倍です。{factor_hint(name)}{check}"
    return Finding("scale", quantity, text, c, name)


def factor_hint(name: str | None) -> str:
    if name is None:
        return ""
    if name in ("N", "1/N"):
        return "バッチサイズ N での割り算を確かめてください（多すぎるか、足りないか）。"
    if name in ("D", "1/D", "N*D", "1/(N*D)"):
        return "平均を取る要素数（N か N·D か）を確かめてください。"
    if name in ("C", "1/C", "N/C"):
        return "クラス数 C で割っていませんか。平均はバッチ（N）についてだけ取ります。"
    return "定数の係数（2 など）を確かめてください。"


def shape_finding(quantity: str, got: np.ndarray, expected: np.ndarray, dims: Dims, check: str) -> Finding:
    want, have = expected.shape, got.shape
    if len(want) == 2 and have == want[::-1]:
        same = fits(got, expected.T)
        detail = "値も転置と一致します" if same else "形状が転置になっています"
        return Finding(
            "transposed", quantity, f"{quantity} の形状が {have} で、正しくは {want} です（{detail}）。{check}"
        )
    reduction = batch_reduction(quantity, got, expected, dims)
    if reduction is not None:
        return Finding("batch_reduction", quantity, reduction + check)
    return Finding(
        "unknown",
        quantity,
        f"{quantity} の形状が {have} で、正しくは {want} です。よくある間違いには当てはまりません。{check}",
    )


def batch_reduction(quantity: str, got: np.ndarray, expected: np.ndarray, dims: Dims) -> str | None:
    """A sum over the batch missing, over the wrong axis, or where it does not belong."""
    want, have, N = expected.shape, got.shape, dims.N
    if len(want) == 1 and have == (N, want[0]) and N != 1:
        return f"{quantity} の形状が {have} です。バッチ方向（axis=0）の和が抜けています: 正しい形状は {want} です。"
    if len(want) == 1 and have == (1, want[0]):
        return f"{quantity} の形状が {have} です。keepdims=True を付けずに axis=0 で和を取ってください（形状 {want}）。"
    if len(want) == 1 and got.size == 1 and want[0] != 1:
        return f"{quantity} がスカラーです。全要素ではなくバッチ方向（axis=0）だけで和を取ってください（形状 {want}）。"
    if len(want) == 1 and have == (N,) and N != want[0]:
        return f"{quantity} の形状が {have} です。和を取る軸が違います: axis=1 ではなく axis=0 です（形状 {want}）。"
    if len(want) == 2 and have == (want[1],) and want[0] == N and N != 1:
        return f"{quantity} の形状が {have} です。サンプルごとの勾配をバッチで和にしてはいけません（形状 {want}）。"
    return None


def in_float32(got: np.ndarray, expected: np.ndarray) -> bool:
    """Off by float32 rounding, and every value representable in float32: computed in float32."""
    scale = float(np.max(np.abs(expected), initial=0.0))
    if scale == 0.0:
        return False
    err = float(np.max(np.abs(got - expected))) / scale
    return FLOAT32_BAND[0] < err < FLOAT32_BAND[1] and bool(np.all(got.astype(np.float32).astype(np.float64) == got))


def overflow_message(quantity: str) -> str:
    return (
        f"{quantity} に nan か inf が含まれます（正しい勾配はすべて有限です）。"
        "大きな |x| で exp があふれていませんか。forward で cache に保存した出力 y から勾配を計算してください。"
    )


def precision_message(quantity: str) -> str:
    return (
        f"{quantity} の誤差が float32 の丸め誤差の大きさです。float32 で計算していませんか。"
        "配列を float64 のまま計算してください。"
    )
