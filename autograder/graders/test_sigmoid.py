"""Sigmoid.backward: dx = dout · y(1 − y), with y = σ(x) the cached output.

Checked against central differences of the reference forward, also on |x| up to 1000
(SaturatingSuite), where recomputing σ'(x) from exp(−x) overflows.
"""

from __future__ import annotations

import numpy as np

from autograder.diagnosis import Alternative

from .backward import BackwardGrader
from .cache import Case
from .mistakes import Mistakes, layer_dims
from .seeds import Seeds
from .suite import SaturatingSuite


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no exp to overflow


def mistakes(case: Case) -> dict[str, list[Alternative]]:
    x, dout = case["x"], case["dout"]
    y = sigmoid(x)
    return {
        "dx": [
            Alternative("ignores_dout", "y(1 − y)（dout を掛けていません）", y * (1 - y)),
            Alternative("wrong_derivative", "dout（σ'(x) = y(1 − y) を掛けていません）", dout),
            Alternative(
                "wrong_derivative", "dout · x(1 − x)（出力 y ではなく入力 x を使っています）", dout * x * (1 - x)
            ),
            Alternative("wrong_derivative", "dout · y(1 + y)", dout * y * (1 + y)),
            Alternative("wrong_derivative", "dout · (1 − y)", dout * (1 - y)),
            Alternative("wrong_derivative", "dout · y²", dout * y**2),
            Alternative("wrong_derivative", "dout · (1 − y²)（Tanh の微分です）", dout * (1 - y**2)),
            Alternative(
                "wrong_derivative",
                "dout · σ(y)(1 − σ(y))（キャッシュした出力 y にもう一度 σ を掛けています）",
                dout * sigmoid(y) * (1 - sigmoid(y)),
            ),
        ]
    }


class TestSigmoid(SaturatingSuite):
    grader = BackwardGrader("Sigmoid", mistakes=Mistakes({"dx": "dout * y * (1 - y)"}, layer_dims, mistakes))
    hidden = Seeds((4111, 4112, 4113, 4114), 4115)
    salt, scale = 200, 3.0
