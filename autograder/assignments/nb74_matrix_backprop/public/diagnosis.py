"""Which mistake a wrong gradient shows: hypotheses tested against the right gradient.

The judge knows the right gradient on its own inputs, and most backprop bugs leave a signature in
the numbers: a missing 1/N gives a constant ratio of exactly N, a transpose the right values in
the wrong layout, a sign flip a ratio of -1. `diagnose` tests those families in turn and returns
the findings that fit to rounding. Part-specific mistakes (dout not multiplied in, another
function's derivative, a wrong ReLU mask) cannot be recognised from the two arrays alone: the
caller computes what each such mistake would give on the same inputs and passes it as an
`Alternative`.

A diagnosis that is not sure says so (code `unknown`, with the numbers) and never guesses: a family
is named only when its hypothesis is the only one that fits these inputs — not on a single number
(every scale factor fits one), not when two families fit, not for a constant factor none of N, D,
C, 2, … (measured: on the catalog such a ratio only ever came from a size-1 gradient). Across a
part's cases, `agree_findings` names a family only when every case agrees with it.

This module needs only NumPy and the standard library: the release's visible tests use the same
code on their public inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .findings import (
    ANY,
    FIT_TOL,
    FLOAT32_BAND,
    UNKNOWN,
    Alternative,
    Dims,
    Finding,
    diagnosis_label,
    factor_names,
    fits,
    fits_with_overflow,
    named_factors,
)


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

    A family is named only when it is identifiable on these inputs: when hypotheses of two families
    fit, when the array is a single number (any scale factor fits one number), or when the only fit
    is a constant factor that is none of N, D, C, 2, … , the finding is `unknown` and says why.

    tol: how closely a hypothesis must reproduce got, max-normalised. FIT_TOL when expected is
    exact (the judge's reference); looser when expected is itself a numerical gradient (the
    visible tests' central differences, whose own error is about 1e-9 relative)."""
    check = f"（正しくは {quantity} = {formula}）" if formula else ""
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        overflowing = [a for a in alternatives if fits_with_overflow(got, a.value, tol)]
        if overflowing and not np.all(np.isfinite(overflowing[0].value)):
            return [alternative_finding(quantity, overflowing[0], check)]
        return [Finding("overflow", quantity, overflow_message(quantity) + check)]
    if got.shape != expected.shape:
        return [shape_finding(quantity, got, expected, dims, check, tol)]
    if in_float32(got, expected):
        return [Finding("precision", quantity, precision_message(quantity))]
    if fits(got, expected, tol):
        return []
    ratio = scale_of(got, expected, tol)
    if ratio is not None and informative(expected) < 2:
        return [single_number(quantity, expected, check)]
    found = hypotheses(quantity, got, expected, dims, check, alternatives, tol, ratio)
    families = list(dict.fromkeys(f.code for f in found))
    if len(families) == 1:
        return found[:1]
    if len(families) > 1:
        told = "・".join(f"「{diagnosis_label(c, quantity)}」" for c in families)
        text = (
            f"{quantity} はこの入力では {told} のどれとも一致し、どの間違いかを区別できません。"
            f"式を一つずつ確かめてください。{check}"
        )
        return [Finding(UNKNOWN, quantity, text, unsure_of=tuple(families))]
    if fits(got, expected, tol=FLOAT32_BAND[1]):
        text = f"{quantity} は正しい値に近いですが、丸め誤差より大きくずれています（数値微分や近似を使っていませんか）。{check}"
        return [Finding(UNKNOWN, quantity, text)]
    if ratio is not None:  # a constant factor, but none a student would have written
        text = (
            f"{quantity} は正しい値の約 {abs(ratio):.3g} 倍{'（符号も逆）' if ratio < 0 else ''}ですが、"
            "この係数は N・D・C・2 などのどれにも当たらないため、どの間違いかは特定できません。"
            f"係数と割る数を確かめてください。{check}"
        )
        return [Finding(UNKNOWN, quantity, text)]
    return [
        Finding(UNKNOWN, quantity, f"{quantity} が違います。よくある間違いのどれにも当てはまりませんでした。{check}")
    ]


def hypotheses(
    quantity: str,
    got: np.ndarray,
    expected: np.ndarray,
    dims: Dims,
    check: str,
    alternatives: Sequence[Alternative],
    tol: float,
    ratio: float | None,
) -> list[Finding]:
    """Every family whose hypothesis reproduces got (the caller's known mistakes first)."""
    found = [alternative_finding(quantity, a, check) for a in alternatives if fits(got, a.value, tol)]
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and fits(got, expected.T, tol):
        found.append(Finding("transposed", quantity, f"{quantity} が正しい値の転置になっています。{check}"))
    rows = same_rows(quantity, got, expected, tol)
    if rows is not None:
        found.append(Finding("batch_reduction", quantity, rows + check))
    if ratio is not None:
        scaled = scale_finding(quantity, ratio, dims, check)
        if scaled is not None:
            found.append(scaled)
    return found


def alternative_finding(quantity: str, alt: Alternative, check: str) -> Finding:
    return Finding(alt.code, quantity, f"{quantity} が「{alt.mistake}」の値になっています。{check}")


def informative(expected: np.ndarray) -> int:
    """How many entries a scale factor is measured on (entries far from 0 relative to the largest)."""
    big = float(np.max(np.abs(expected), initial=0.0))
    return int(np.count_nonzero(np.abs(expected) > 1e-6 * big)) if big > 0 else 0


def single_number(quantity: str, expected: np.ndarray, check: str) -> Finding:
    """got is a multiple of a gradient that is one number (or one entry far from 0): any factor fits
    one number, so neither a scale error nor any other mistake can be told apart from it."""
    where = "要素が 1 つだけ" if expected.size == 1 else f"0 でない要素が 1 つだけ（全 {expected.size} 要素）"
    text = (
        f"{quantity} が違います。この入力では正しい {quantity} の{where}なので、係数の違いか別の間違いかを"
        f"区別できません（原因は特定できません）。他の形状の入力での結果も見てください。{check}"
    )
    return Finding(UNKNOWN, quantity, text, unsure_of=(ANY,))


def same_rows(quantity: str, got: np.ndarray, expected: np.ndarray, tol: float) -> str | None:
    """Every row (sample) of got is the same while the right rows differ: the batch was reduced
    (summed or averaged) where each sample keeps its own gradient, then broadcast back."""
    if got.ndim != 2 or got.shape[0] < 2 or fits(expected, np.broadcast_to(expected[:1], expected.shape), tol):
        return None
    if not fits(got, np.broadcast_to(got[:1], got.shape), tol):
        return None
    total = expected.sum(axis=0)
    how = next(
        (
            f"（各行が正しい勾配のバッチ方向の{name}と同じです）"
            for name, value in (("和", total), ("平均", total / got.shape[0]))
            if fits(got[0], value, tol)
        ),
        "",
    )
    return (
        f"{quantity} のすべての行（サンプル）が同じ値です{how}。バッチ方向（axis=0）に和や平均を取ってから"
        "広げていませんか。この勾配はサンプルごとに計算し、バッチで和を取りません。"
    )


def scale_of(got: np.ndarray, expected: np.ndarray, tol: float = FIT_TOL) -> float | None:
    """The constant c with got = c · expected, if there is one (c ≠ 0, 1)."""
    norm = float(np.sum(expected * expected))
    if norm == 0.0:
        return None
    c = float(np.sum(got * expected)) / norm
    if c == 0.0 or abs(c - 1.0) <= tol or not fits(got, c * expected, tol):
        return None
    return c


def scale_finding(quantity: str, c: float, dims: Dims, check: str) -> Finding | None:
    """The scale or sign finding of a ratio c made of named factors; None when no name fits."""
    names = factor_names(abs(c), dims)
    unit = abs(abs(c) - 1.0) <= FIT_TOL
    fitting = tuple(names) + (("1",) if unit else ())
    if c < 0 and unit:
        text = f"{quantity} の符号が逆です（正しい値の −1 倍）。{check}"
        return Finding("sign", quantity, text, -1.0, None, factor_names=fitting)
    if not names:
        return None
    name = names[0] if len(names) == 1 else None
    # the named value exactly (a ratio made of an input's value would show more of it)
    c = float(np.copysign(named_factors(dims)[name], c)) if name else float(f"{c:.3g}")
    if len(names) > 1:  # e.g. N == D on these inputs: say both, pick neither
        told = "・".join(names) + " のどれか（この入力では区別できません）"
    else:
        told = names[0]
    if c < 0:
        text = f"{quantity} の符号が逆で、大きさも正しい値の {told} 倍です。符号と係数の両方を確かめてください。{check}"
        return Finding("sign", quantity, text, c, name, factor_names=fitting)
    text = f"{quantity} が正しい値の {told} 倍です。{factor_hint(name)}{check}"
    return Finding("scale", quantity, text, c, name, factor_names=fitting)


def factor_hint(name: str | None) -> str:
    if name is None:
        return ""
    if name in ("N", "1/N"):
        return "バッチサイズ N での割り算を確かめてください（多すぎるか、足りないか）。"
    if name in ("D", "1/D", "N*D", "1/(N*D)", "D/2", "N*D/2"):
        return "平均を取る要素数（N か N·D か）と係数 2 を確かめてください。"
    if name in ("C", "1/C", "N/C"):
        return "クラス数 C で割っていませんか。平均はバッチ（N）についてだけ取ります。"
    return "定数の係数（2 など）を確かめてください。"


def shape_finding(
    quantity: str, got: np.ndarray, expected: np.ndarray, dims: Dims, check: str, tol: float = FIT_TOL
) -> Finding:
    want, have = expected.shape, got.shape
    if len(want) == 2 and have == want[::-1]:
        if fits(got, expected.T, tol):
            text = f"{quantity} の形状が {have} で、正しくは {want} です（値も転置と一致します）。{check}"
            return Finding("transposed", quantity, text)
        text = (
            f"{quantity} の形状が {have} で、正しくは {want} です（形状は転置ですが、値は正しい値の転置とも違います。"
            f"転置のほかにも間違いがあります）。{check}"
        )
        return Finding(UNKNOWN, quantity, text)
    reduction = batch_reduction(quantity, got, expected, dims, tol)
    if reduction is not None:
        return Finding("batch_reduction", quantity, reduction + check)
    return Finding(
        UNKNOWN,
        quantity,
        f"{quantity} の形状が {have} で、正しくは {want} です。よくある間違いには当てはまりません。{check}",
    )


def batch_reduction(
    quantity: str, got: np.ndarray, expected: np.ndarray, dims: Dims, tol: float = FIT_TOL
) -> str | None:
    """A sum over the batch missing, over the wrong axis, or where it does not belong."""
    want, have, N = expected.shape, got.shape, dims.N
    if len(want) == 1 and have == (N, want[0]) and N != 1:
        return f"{quantity} の形状が {have} です。バッチ方向（axis=0）の和が抜けています: 正しい形状は {want} です。"
    if len(want) == 1 and have == (1, want[0]):
        return f"{quantity} の形状が {have} です。keepdims=True を付けずに axis=0 で和を取ってください（形状 {want}）。"
    if len(want) == 1 and got.size == 1 and want[0] != 1:
        return f"{quantity} がスカラーです。全要素ではなくバッチ方向（axis=0）だけで和を取ってください（形状 {want}）。"
    if len(want) == 1 and want[0] == 1 and got.ndim == 0 and fits(got.reshape(1), expected, tol):
        # one column: the sum over everything is the right number, but a scalar
        return f"{quantity} がスカラーです。axis=0 を指定して和を取り、形状 {want} の配列にしてください。"
    if len(want) == 1 and have == (N,) and N != want[0]:
        return f"{quantity} の形状が {have} です。和を取る軸が違います: axis=1 ではなく axis=0 です（形状 {want}）。"
    if len(want) == 2 and want[0] == N and have in ((want[1],), (1, want[1])) and have != want:
        return (
            f"{quantity} の形状が {have} です。サンプルごとの勾配をバッチ方向（axis=0）で和や平均にしてはいけません"
            f"（形状 {want}）。"
        )
    if len(want) == 2 and got.size == 1 and expected.size > 1:
        return f"{quantity} がスカラーです。全要素の和や平均を取らず、要素ごとの勾配を返してください（形状 {want}）。"
    if len(want) == 2 and want[1] != 1 and have in ((want[0],), (want[0], 1)) and want[0] != want[1]:
        return f"{quantity} の形状が {have} です。axis=1 で和や平均を取っていませんか。要素ごとの勾配を返してください（形状 {want}）。"
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
