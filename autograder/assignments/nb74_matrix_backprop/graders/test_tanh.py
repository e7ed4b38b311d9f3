"""Tanh.backward: dx = dout · (1 − y²), with y = tanh(x) the cached output.

Checked against central differences of the reference forward, also on |x| up to 1000
(SaturatingSuite), where tanh computed from exp(±x) overflows.
"""

from __future__ import annotations

from autograder.graders.seeds import Seeds

from .backward import BackwardGrader
from .suite import SaturatingSuite


class TestTanh(SaturatingSuite):
    grader = BackwardGrader("Tanh")
    hidden = Seeds((4311, 4312, 4313, 4314), 4315)
    salt, scale = 400, 2.0
