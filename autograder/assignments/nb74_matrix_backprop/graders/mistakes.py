"""What the diagnosis of one backward part needs, from the public catalog of known mistakes
(public/known_mistakes.py) on a grader's case: the right formula of each gradient, the sizes a
scale factor is made of, and what the class's known mistakes give on the case's inputs.

The families that need no knowledge of the class (transposed, scale, sign, batch_reduction,
precision, overflow) are tried for every part (public/diagnosis.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from autograder.graders.cache import Case

from ..public import known_mistakes
from ..public.findings import Alternative, Dims


@dataclass(frozen=True)
class Mistakes:
    class_name: str
    loss: bool = False

    @property
    def formulas(self) -> Mapping[str, str]:
        return known_mistakes.FORMULAS.get(self.class_name, {})

    def dims(self, case: Case) -> Dims:
        return known_mistakes.sizes(self.class_name, case["y" if self.loss else "x"], case.get("W"))

    def alternatives(self, case: Case) -> Mapping[str, list[Alternative]]:
        if self.loss:
            return known_mistakes.alternatives(self.class_name, case["y"], t=case["t"])
        return known_mistakes.alternatives(self.class_name, case["x"], case["dout"], case.get("W"))
