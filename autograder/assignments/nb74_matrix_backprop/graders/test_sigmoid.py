"""Sigmoid.backward: dx = dout · y(1 − y), with y = σ(x) the cached output.

Checked against central differences of the reference forward, also on |x| up to 1000
(SaturatingSuite), where recomputing σ'(x) from exp(−x) overflows.
"""

from __future__ import annotations

from autograder.graders.seeds import Seeds

from .backward import BackwardGrader
from .suite import SaturatingSuite


class TestSigmoid(SaturatingSuite):
    grader = BackwardGrader("Sigmoid")
    hidden = Seeds((4111, 4112, 4113, 4114), 4115)
    salt, scale = 200, 3.0
