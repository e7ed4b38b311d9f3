"""autograder/assignments/nb74_matrix_backprop/public/diagnosis.py names the mistake from the numbers, and says "not sure" (code unknown)
when the numbers do not identify one: on one number, when two families fit, for an unnamed factor,
and across a part's cases when they disagree (agree_findings)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from autograder.assignments.nb74_matrix_backprop.public.agreement import agree_findings
from autograder.assignments.nb74_matrix_backprop.public.diagnosis import diagnose
from autograder.assignments.nb74_matrix_backprop.public.findings import (
    ANY,
    LABELS,
    Alternative,
    Dims,
    Finding,
    diagnosis_label,
)
from autograder.assignments.nb74_matrix_backprop.public.known_mistakes import alternatives, sigmoid, sizes
from autograder.reports.graded import Graded
from autograder.reports.tables import DiagnosisGroup, diagnosis_groups
from autograder.results import Confinement, Diagnosis, Results
from tests.bugs.catalog import DIAGNOSES
from tests.nb74 import NB74

RNG = np.random.default_rng(74)
N, DIN, DOUT = 3, 5, 4
X, DOUT_ = RNG.standard_normal((N, DIN)), RNG.standard_normal((N, DOUT))
DW, DB = X.T @ DOUT_, DOUT_.sum(axis=0)
LIN = Dims(N=N, D=DOUT)


def codes(findings):
    return [(f.code, f.factor_name) for f in findings]


def test_right_gradient_to_rounding_has_no_finding():
    noisy = DW * (1 + 1e-15 * RNG.standard_normal(DW.shape))
    assert diagnose("dW", noisy, DW, LIN) == []


@pytest.mark.parametrize(
    ("got", "expected", "want"),
    [
        (DOUT_.T @ X, DW, ("transposed", None)),
        (DW / N, DW, ("scale", "1/N")),
        (DW * N * DOUT, DW, ("scale", "N*D")),
        (2 * DW, DW, ("scale", "2")),
        (-DW, DW, ("sign", None)),
        (-DW / N, DW, ("sign", "1/N")),
        (DOUT_, DB, ("batch_reduction", None)),
        (DOUT_.sum(axis=1), DB, ("batch_reduction", None)),
        (np.array(DOUT_.sum()), DB, ("batch_reduction", None)),
        (DOUT_.sum(axis=0, keepdims=True), DB, ("batch_reduction", None)),
        (DW.astype(np.float32).astype(np.float64) * (1 + 3e-8), DW, ("unknown", None)),
        (DW.astype(np.float32).astype(np.float64), DW, ("precision", None)),
        (np.where(DW > 0, np.nan, DW), DW, ("overflow", None)),
        (DW + 0.3 * RNG.standard_normal(DW.shape), DW, ("unknown", None)),
    ],
    ids=[
        "transposed",
        "over_N",
        "times_ND",
        "times_2",
        "sign",
        "sign_and_over_N",
        "db_not_summed",
        "db_axis1",
        "db_scalar",
        "db_keepdims",
        "float32_then_scaled",
        "float32",
        "overflow",
        "noise",
    ],
)
def test_families(got, expected, want):
    q = "db" if expected.ndim == 1 else "dW"
    found = diagnose(q, np.asarray(got, dtype=np.float64), expected, LIN, formula="x.T @ dout")
    assert codes(found) == [want]
    assert all(f.quantity == q and f.message for f in found)


def test_scale_factor_value_and_name():
    (f,) = diagnose("dx", DOUT_ * N, DOUT_, Dims(N=N, D=DOUT))
    assert (f.code, f.factor_name) == ("scale", "N") and f.factor == pytest.approx(N)
    assert "N" in f.message


def test_ambiguous_factor_is_not_named():
    sq = RNG.standard_normal((4, 4))
    (f,) = diagnose("dx", sq / 4, sq, Dims(N=4, D=4))
    assert f.code == "scale" and f.factor_name is None
    assert "区別できません" in f.message


def test_square_transpose_by_values():
    sq = RNG.standard_normal((4, 4))
    assert codes(diagnose("dW", sq.T.copy(), sq, Dims(N=4, D=4))) == [("transposed", None)]


def test_alternative_named_by_the_caller():
    x = RNG.standard_normal((3, 4))
    y = 1 / (1 + np.exp(-x))
    dout = RNG.standard_normal(x.shape)
    alts = [
        Alternative("ignores_dout", "dout を掛けていない y(1 - y)", y * (1 - y)),
        Alternative("wrong_derivative", "y(1 + y)", dout * y * (1 + y)),
    ]
    (f,) = diagnose("dx", dout * y * (1 + y), dout * y * (1 - y), Dims(N=3), "dout * y * (1 - y)", alts)
    assert f.code == "wrong_derivative" and "y(1 + y)" in f.message and "dout * y * (1 - y)" in f.message
    (g,) = diagnose("dx", y * (1 - y), dout * y * (1 - y), Dims(N=3), alternatives=alts)
    assert g.code == "ignores_dout"


def test_json_shape():
    (f,) = diagnose("dW", DW / N, DW, LIN)
    assert f.as_json("linear") == {
        "part": "linear",
        "quantity": "dW",
        "code": "scale",
        "factor": pytest.approx(1 / N),
        "factor_name": "1/N",
        "message": f.message,
    }


# --- "not sure" rules: each test fails if its rule is removed -------------------------------------
def test_one_number_is_never_a_family():
    """Any factor fits one number: db of one column, 2× the right value, is not called a scale
    error (without the rule: ("scale", "2"))."""
    (f,) = diagnose("db", np.array([2 * 0.7]), np.array([0.7]), Dims(N=8, D=1))
    assert (f.code, f.unsure_of) == ("unknown", (ANY,))
    assert "区別できません" in f.message and "要素が 1 つだけ" in f.message


def test_one_informative_entry_is_never_a_family():
    expected = np.array([0.0, 3.0, 0.0])
    (f,) = diagnose("db", expected / N, expected, LIN)
    assert (f.code, f.unsure_of) == ("unknown", (ANY,)) and "0 でない要素が 1 つだけ" in f.message


def test_two_families_fitting_is_not_sure():
    """A known mistake that gives exactly 2× the right value on these inputs: scale 2 and the
    mistake both fit, so neither is named (without the rule: the first, wrong_derivative)."""
    alt = Alternative("wrong_derivative", "2 · dout", 2 * DW)
    (f,) = diagnose("dW", 2 * DW, DW, LIN, alternatives=[alt])
    assert f.code == "unknown" and set(f.unsure_of) == {"wrong_derivative", "scale"}
    assert "区別できません" in f.message


def test_unnamed_factor_is_not_sure():
    """A constant ratio that is none of N, D, C, 2, … (e.g. db = dout[0] where it happens to be
    proportional): said with the number, never as a scale error (without the rule: "0.145 倍", scale)."""
    (f,) = diagnose("dW", 0.145 * DW, DW, LIN)
    assert f.code == "unknown" and f.unsure_of == () and "0.145" in f.message and "特定できません" in f.message
    (g,) = diagnose("dW", -0.3 * DW, DW, LIN)
    assert g.code == "unknown" and "符号も逆" in g.message


def test_transposed_shape_with_other_values_is_not_sure():
    (f,) = diagnose("dW", (DOUT_.T @ X) * 1.5, DW, LIN)
    assert f.code == "unknown" and "転置とも違います" in f.message


def test_float32_band_is_not_sure():
    (f,) = diagnose("dW", DW * (1 + 1e-6), DW, LIN)
    assert f.code == "unknown" and "丸め誤差" in f.message


# --- families added for issue 23 -----------------------------------------------------------------
def test_rows_reduced_over_the_batch_and_broadcast():
    dx = RNG.standard_normal((N, DIN))
    for got in (np.broadcast_to(dx.sum(axis=0), dx.shape), np.broadcast_to(dx.mean(axis=0), dx.shape)):
        (f,) = diagnose("dx", np.array(got), dx, Dims(N=N, D=DIN))
        assert f.code == "batch_reduction" and "すべての行" in f.message


@pytest.mark.parametrize(
    ("got", "expected"),
    [
        (DOUT_.sum(axis=0, keepdims=True), DOUT_),  # dx summed with keepdims
        (DOUT_.sum(axis=0), DOUT_),  # dx summed like db
        (np.array(DOUT_.mean()), DOUT_),  # one number for an (N, D) gradient
        (np.array(DB[:1].sum()), DB[:1]),  # a scalar db of one column, of the right value
    ],
    ids=["keepdims", "axis0", "scalar", "scalar_one_column"],
)
def test_reductions_by_shape(got, expected):
    (f,) = diagnose("dx", np.asarray(got, dtype=np.float64), expected, LIN)
    assert f.code == "batch_reduction"


def test_wrong_formula_that_overflows_is_named_by_its_formula():
    p = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    t = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        wrt_p = -t / p / 2
    alt = Alternative("wrong_derivative", "−t / (N·p)", wrt_p)
    (f,) = diagnose("dL/dx", wrt_p, (p - t) / 2, Dims(N=2, C=3), alternatives=[alt])
    assert f.code == "wrong_derivative"
    (g,) = diagnose("dL/dx", wrt_p, (p - t) / 2, Dims(N=2, C=3))
    assert g.code == "overflow"


def test_mse_halves_are_named_only_for_mse():
    y = RNG.standard_normal((3, 5))
    assert codes(diagnose("dL/dy", y, 2 * y / y.size, Dims(3, D=5, squares=True))) == [("scale", "N*D/2")]
    assert codes(diagnose("dL/dy", y / 3, 2 * y / y.size, Dims(3, D=5, squares=True))) == [("scale", "D/2")]
    assert codes(diagnose("dL/dy", y / 3, 2 * y / y.size, Dims(3, D=5))) == [("unknown", None)]
    assert codes(diagnose("dW", 2 * DW, DW, LIN)) == [("scale", "2")]  # D = 4: D/2 would hide the 2


@pytest.mark.parametrize(
    ("class_name", "key", "mistake", "code"),
    [
        ("Linear", "b", lambda x, dout, W: dout[0], "batch_reduction"),
        ("Linear", "b", lambda x, dout, W: dout[-1], "batch_reduction"),
        ("Linear", "W", lambda x, dout, W: np.outer(x.sum(0), dout.sum(0)), "batch_reduction"),
        ("Sigmoid", "dx", lambda x, dout, W: dout * sigmoid(x), "wrong_derivative"),
        ("Sigmoid", "dx", lambda x, dout, W: dout.sum(0) * sigmoid(x) * (1 - sigmoid(x)), "batch_reduction"),
        ("Tanh", "dx", lambda x, dout, W: dout * (1 - np.tanh(x)) ** 2, "wrong_derivative"),
        ("Tanh", "dx", lambda x, dout, W: dout * (1 + np.tanh(x)), "wrong_derivative"),
        ("Tanh", "dx", lambda x, dout, W: dout * (1 - np.tanh(np.tanh(x)) ** 2), "wrong_derivative"),
        ("ReLU", "dx", lambda x, dout, W: dout * np.maximum(0, x), "relu_mask"),
    ],
    ids=["db_row0", "db_row_last", "dW_outer", "sig_y", "sig_summed", "tanh_sq", "tanh_1py", "tanh_of_y", "relu_y"],
)
def test_known_mistakes_of_layers(class_name, key, mistake, code):
    x, dout = RNG.standard_normal((5, 4)), RNG.standard_normal((5, 4))
    W = RNG.standard_normal((3, 4))
    xin = RNG.standard_normal((5, 3)) if class_name == "Linear" else x
    right = {
        "Linear": {"b": dout.sum(0), "W": xin.T @ dout},
        "Sigmoid": {"dx": dout * sigmoid(x) * (1 - sigmoid(x))},
        "Tanh": {"dx": dout * (1 - np.tanh(x) ** 2)},
        "ReLU": {"dx": dout * (x > 0)},
    }[class_name][key]
    alts = alternatives(class_name, xin, dout, W if class_name == "Linear" else None)[key]
    dims = sizes(class_name, xin, W if class_name == "Linear" else None)
    (f,) = diagnose(key, mistake(xin, dout, W), right, dims, alternatives=alts)
    assert f.code == code, f.message


@pytest.mark.parametrize(
    ("class_name", "mistake", "code"),
    [
        ("SoftmaxCrossEntropy", lambda p, t, n: p / n, "wrong_derivative"),
        ("SoftmaxCrossEntropy", lambda p, t, n: (p - 1) / n, "wrong_derivative"),
        ("SoftmaxCrossEntropy", lambda p, t, n: t - p, "sign"),
        ("MSELoss", lambda y, t, n: (y - t) ** 2 / y.size, "wrong_derivative"),
        ("MSELoss", lambda y, t, n: (t - y) / y.size, "sign"),
    ],
    ids=["p_only", "p_minus_1", "t_minus_p", "mse_terms", "mse_t_minus_y"],
)
def test_known_mistakes_of_losses(class_name, mistake, code):
    logits = RNG.standard_normal((4, 3))
    if class_name == "SoftmaxCrossEntropy":
        t = np.eye(3)[[0, 2, 1, 1]]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        a = e / e.sum(axis=1, keepdims=True)
        right = (a - t) / 4
    else:
        a, t = logits, RNG.standard_normal((4, 3))
        right = 2 * (a - t) / a.size
    alts = alternatives(class_name, logits, t=t)["dL/dx" if class_name == "SoftmaxCrossEntropy" else "dL/dy"]
    (f,) = diagnose("dL", mistake(a, t, 4), right, sizes(class_name, logits), alternatives=alts)
    assert f.code == code, f.message


# --- agreement across a part's cases ------------------------------------------------------------
def finding(code, q="db", name=None, names=(), unsure=()):
    return Finding(code, q, f"{code} {name}", None, name, unsure_of=unsure, factor_names=names)


def test_cases_that_agree_give_one_finding():
    found = [finding("batch_reduction"), finding("unknown", unsure=(ANY,)), finding("batch_reduction")]
    assert [(f.code, f.quantity) for f in agree_findings(found)] == [("batch_reduction", "db")]


def test_families_that_differ_between_cases_are_not_sure():
    """Without the rule the judge reported both, or the first."""
    (f,) = agree_findings([finding("transposed", "dW"), finding("scale", "dW", "N", ("N",))])
    assert f.code == "unknown" and "当てはまる間違いが違いました" in f.message
    assert "「dW が転置」 1 件" in f.message and "「dW の倍率違い（N）」 1 件" in f.message


def test_a_case_where_no_family_fits_contradicts_a_family():
    (f,) = agree_findings([finding("relu_mask", "dx"), finding("unknown", "dx")])
    assert f.code == "unknown" and "当てはまるものなし 1 件" in f.message


def test_unsure_between_families_agrees_only_with_those():
    both = finding("unknown", "dW", unsure=("wrong_derivative", "scale"))
    assert [f.code for f in agree_findings([finding("scale", "dW", "2", ("2",)), both])] == ["scale"]
    assert [f.code for f in agree_findings([finding("transposed", "dW"), both])] == ["unknown"]


def test_scale_factors_must_agree_between_cases():
    named = [finding("scale", name="N", names=("N",)), finding("scale", name=None, names=("N", "D"))]
    assert [(f.code, f.factor_name) for f in agree_findings(named)] == [("scale", "N")]
    differ = [finding("scale", name="N", names=("N",)), finding("scale", name="D", names=("D",))]
    assert [f.code for f in agree_findings(differ)] == ["unknown"]


def test_quantities_are_agreed_separately():
    found = [finding("transposed", "dW"), finding("batch_reduction", "db"), finding("transposed", "dW")]
    assert [(f.code, f.quantity) for f in agree_findings(found)] == [("transposed", "dW"), ("batch_reduction", "db")]


# --- Japanese labels ---------------------------------------------------------------------------------
def test_every_code_has_a_japanese_label():
    root = Path(__file__).resolve().parent.parent / "autograder"
    text = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py"))
    made = set(re.findall(r'(?:Finding|Alternative)\(\s*"(\w+)"', text))
    made |= set(re.findall(r'Hint\([^()]*(?:\([^()]*\)[^()]*)*,\s*"(\w+)",?\s*\)', text, re.S))
    made |= {w[0] if isinstance(w, tuple) else w for w in DIAGNOSES.values() if w}
    assert {"accumulates", "stale_cache", "scale", "unknown"} <= made
    assert made <= set(LABELS), made - set(LABELS)
    for code in LABELS:
        text = diagnosis_label(code, "dW")
        assert code not in text and re.search(r"[ぁ-んァ-ン一-龥]", text), text


def labelled(part: str, quantity: str, code: str, factor_name: str | None) -> DiagnosisGroup:
    """The class report's group of one student's diagnosis, labelled by the assignment's words."""
    d = Diagnosis(part, quantity, code, "…", None, factor_name)
    results = Results(0.0, 1.0, (), Confinement("test"), diagnoses=(d,))
    (group,) = diagnosis_groups([Graded("s1", {}, results, "")], NB74)
    return group


def test_report_shows_labels_not_codes():
    group = labelled("linear", "dW", "accumulates", None)
    assert group.label == "dW を += で足し込んでいる"
    assert labelled("mse", "dL/dy", "scale", "N*D/2").label == "dL/dy の倍率違い（N*D/2）"
