"""autograder/diagnosis.py names the mistake from the numbers, and says so when nothing fits."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.diagnosis import Alternative, Dims, diagnose

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
