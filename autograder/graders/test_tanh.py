"""Tanh.backward: dx = dout · (1 − y²), with y = tanh(x) the cached output.

Checked against central differences of the reference forward, also on |x| up to 1000
(SaturatingSuite), where tanh computed from exp(±x) overflows.
"""

from __future__ import annotations

import numpy as np

from autograder.diagnosis import Alternative

from .backward import BackwardGrader
from .cache import Case
from .mistakes import Mistakes, layer_dims
from .seeds import Seeds
from .suite import SaturatingSuite


def mistakes(case: Case) -> dict[str, list[Alternative]]:
    x, dout = case["x"], case["dout"]
    y = np.tanh(x)
    return {
        "dx": [
            Alternative("ignores_dout", "1 − y²（dout を掛けていません）", 1 - y**2),
            Alternative("wrong_derivative", "dout（tanh'(x) = 1 − y² を掛けていません）", dout),
            Alternative("wrong_derivative", "dout · (1 − y)（y を 2 乗していません）", dout * (1 - y)),
            Alternative(
                "wrong_derivative", "dout · (1 − x²)（出力 y ではなく入力 x を使っています）", dout * (1 - x**2)
            ),
            Alternative("wrong_derivative", "dout · y(1 − y)（Sigmoid の微分です）", dout * y * (1 - y)),
            Alternative("wrong_derivative", "dout · (1 + y²)", dout * (1 + y**2)),
            Alternative("wrong_derivative", "dout · y²", dout * y**2),
        ]
    }


class TestTanh(SaturatingSuite):
    grader = BackwardGrader("Tanh", mistakes=Mistakes({"dx": "dout * (1 - y**2)"}, layer_dims, mistakes))
    hidden = Seeds((4311, 4312, 4313, 4314), 4315)
    salt, scale = 400, 2.0
