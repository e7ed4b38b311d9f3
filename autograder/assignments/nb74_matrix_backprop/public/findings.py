"""What a diagnosis says (`Finding`), what it is tested against (`Dims`, `Alternative`), its Japanese
labels, and when a hypothesis fits the student's array (`fits`). See diagnosis.py for how a wrong
gradient is diagnosed; needs only NumPy and the standard library (copied into the release).
"""

from __future__ import annotations

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
    # the gradient of a mean of squares (MSE): its 2 may be forgotten along with a division, so
    # D/2 and N·D/2 are named too (not elsewhere: there D/2 = 2 would hide a plain factor 2)
    squares: bool = False


@dataclass(frozen=True)
class Alternative:
    """What one known mistake of this part gives on the grader's inputs."""

    code: str  # e.g. "ignores_dout", "wrong_derivative", "relu_mask"
    mistake: str  # Japanese: what the student would have written, e.g. "y(1 + y)"
    value: np.ndarray


UNKNOWN = "unknown"
ANY = "*"  # in Finding.unsure_of: every family could have given this array

# What each diagnosis code is called in Japanese (the class report, the feedback): short, with the
# quantity ({q}). Every code a Finding can carry is here (tests/test_diagnosis.py checks).
LABELS: dict[str, str] = {
    "transposed": "{q} が転置",
    "scale": "{q} の倍率違い",
    "sign": "{q} の符号が逆",
    "batch_reduction": "{q} の和・平均の取り方（軸）の誤り",
    "ignores_dout": "{q} で dout を掛けていない",
    "wrong_derivative": "{q} の式の誤り（別の微分・掛け忘れ）",
    "relu_mask": "{q} で ReLU のマスクの誤り",
    "overflow": "{q} が大きな入力であふれる（数値的に不安定）",
    "precision": "{q} の精度不足（float32 など）",
    "accumulates": "{q} を += で足し込んでいる",
    "stale_cache": "{q} が前回の値のまま（キャッシュの使い回し）",
    "not_ndarray": "{q} が NumPy 配列でない",
    "forward_changed": "順伝播（forward）を書き換えている",
    "missing_grad": "{q} が grads に代入されていない",
    "mutates_dout": "引数 dout をその場で書き換えている",
    "mutates_cache": "{q}: backward がキャッシュをその場で書き換えている",
    "numerical": "{q} を数値微分で計算している",
    "shared_state": "{q} の状態を層どうしで共有している",
    UNKNOWN: "{q} が違う（原因は特定できず）",
}


def diagnosis_label(code: str, quantity: str, factor_name: str | None = None) -> str:
    """The Japanese label of a diagnosis, e.g. diagnosis_label("scale", "dW", "1/N") == "dW の倍率違い（1/N）"."""
    text = LABELS.get(code, "{q} の間違い").format(q=quantity)
    return f"{text}（{factor_name}）" if factor_name else text


@dataclass(frozen=True)
class Finding:
    code: str
    quantity: str  # "dW", "db", "dx", ...
    message: str  # Japanese: the likely mistake and the formula to check
    factor: float | None = None
    factor_name: str | None = None
    # code "unknown": the families this array cannot tell apart (ANY: every family, e.g. one number);
    # empty: no family fits it. `agree_findings` lets an unsure case agree with the families it names.
    unsure_of: tuple[str, ...] = ()
    # code "scale"/"sign": every factor name that fits the ratio on these sizes ("1" for ±1)
    factor_names: tuple[str, ...] = ()

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
        if dims.squares:  # MSE's (y − t)/N and (y − t): the 2 forgotten with a division
            named |= {"D/2": D / 2, "N*D/2": N * D / 2}
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


def fits_with_overflow(got: np.ndarray, hypothesis: np.ndarray, tol: float = FIT_TOL) -> bool:
    """got equals the hypothesis, nan and ±inf included at the same places (a wrong formula that
    also overflows: −t/p with p = 0 gives −inf where the hypothesis does)."""
    if got.shape != hypothesis.shape:
        return False
    bad_g, bad_h = ~np.isfinite(got), ~np.isfinite(hypothesis)
    if not np.array_equal(bad_g, bad_h) or not np.all(np.isnan(got[bad_g]) | (got[bad_g] == hypothesis[bad_g])):
        return False
    return bool(bad_g.all()) or fits(got[~bad_g], hypothesis[~bad_h], tol)
