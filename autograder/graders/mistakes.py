"""What the diagnosis of one backward part needs: the right formula of each gradient, the sizes a
scale factor is made of, and what the part's known mistakes give on a case (autograder.diagnosis).

A part's module declares one `Mistakes` beside its grader; the families that need no knowledge of
the part (transposed, scale, sign, batch_reduction, precision, overflow) are tried for every part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from autograder.diagnosis import Alternative, Dims

from .cache import Case

Alternatives = Callable[[Case], Mapping[str, list[Alternative]]]  # case -> {gradient key: mistakes}


def no_alternatives(case: Case) -> Mapping[str, list[Alternative]]:
    return {}


@dataclass(frozen=True)
class Mistakes:
    formulas: Mapping[str, str]  # gradient key ("dx", "W", "b", "dL/dy") -> the right formula
    dims: Callable[[Case], Dims]  # N, and D or C, of a case
    alternatives: Alternatives = field(default=no_alternatives)


def layer_dims(case: Case) -> Dims:
    """A layer's batch N and output width D."""
    n = int(np.shape(case["x"])[0])
    d = int(np.shape(case["W"])[1]) if "W" in case else int(np.shape(case["x"])[-1])
    return Dims(n, D=d)
