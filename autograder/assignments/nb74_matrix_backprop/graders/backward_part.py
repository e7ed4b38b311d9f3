"""One backward part as the graders see it: the class, its inputs, and the reference's gradients.

A case is a dict: "key" (unique), the forward's inputs ("x", or "y" and "t" for a loss), "dout"
for a layer, "W"/"b" for Linear; a property case adds "x2" (or "y2"/"t2"), the input of a second
forward. Expected values are central differences of the REFERENCE forward, or, for the analytic
check, the reference's own backward; both are cached per case (cache.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.graders.cache import Case, cached
from autograder.graders.numerics import FD_STEP, numerical_gradient

from . import messages as say
from .mistakes import Mistakes


class BackwardPart:
    """The class under test: its name, whether it is a loss, its parameters, the name of what its
    backward returns, and the central-difference step of its expected values."""

    def __init__(
        self,
        class_name: str,
        loss: bool = False,
        params: tuple[str, ...] = (),
        result_name: str = "dx",
        fd_step: float = FD_STEP,
    ) -> None:
        self.class_name, self.loss, self.params = class_name, loss, params
        self.result_name, self.fd_step = result_name, fd_step
        self.mistakes = Mistakes(class_name, loss)  # what the diagnosis of a wrong gradient needs

    def forward_inputs(self, case: Case, second: bool = False) -> tuple[np.ndarray, ...]:
        """The forward's arguments: x (or y, t for a loss), or the second forward's x2 (y2, t2)."""
        if self.loss:
            return (case["y2"], case["t2"]) if second else (case["y"], case["t"])
        return (case["x2"],) if second else (case["x"],)

    # -- expected values (central differences of the reference forward) --
    def reference_forward(self, reference: Any, case: Case, second: bool = False) -> Any:
        ref = getattr(reference, self.class_name)(*(case["W"].shape if self.params else ()))
        for k in self.params:
            ref.params[k] = case[k]
        return ref.forward(*self.forward_inputs(case, second))

    def expected(self, reference: Any, case: Case, second: bool = False) -> dict[str, np.ndarray]:
        return cached(
            (self.class_name, case["key"], second), reference, lambda: self._expected(reference, case, second)
        )

    def _expected(self, reference: Any, case: Case, second: bool) -> dict[str, np.ndarray]:
        cls = getattr(reference, self.class_name)
        if self.loss:
            loss, (y, t) = cls(), self.forward_inputs(case, second)
            return {self.result_name: numerical_gradient(lambda v: loss.forward(v, t), y, h=self.fd_step)}
        (x,), dout = self.forward_inputs(case, second), case["dout"]
        ref = cls(*(case["W"].shape if self.params else ()))
        values = {k: case[k] for k in self.params}

        def forward(x_: np.ndarray, **override: np.ndarray) -> Any:
            for k in self.params:
                ref.params[k] = override.get(k, values[k])
            return ref.forward(x_)

        out = {self.result_name: numerical_gradient(forward, x, dout, h=self.fd_step)}
        for k in self.params:

            def with_param(v: np.ndarray, k: str = k) -> Any:
                return forward(x, **{k: v})

            out[k] = numerical_gradient(with_param, values[k], dout, h=self.fd_step)
        return out

    def quantity(self, key: str) -> str:
        """The gradient's short name: "dx", "dL/dy", or "dW" for params['W']."""
        return key if key == self.result_name else f"d{key}"

    def name(self, key: str) -> str:
        if key == self.result_name:
            return say.backward_result(self.class_name, self.result_name)
        return f"d{key} = {self.class_name}.grads['{key}']"

    def analytic_expected(self, reference: Any, case: Case) -> dict[str, np.ndarray]:
        """The reference's analytic backward after the first forward of the case."""

        def run() -> dict[str, np.ndarray]:
            ref = getattr(reference, self.class_name)(*(case["W"].shape if self.params else ()))
            for k in self.params:
                ref.params[k] = np.array(case[k])
            if self.loss:
                ref.forward(case["y"], case["t"])
                out = {self.result_name: np.asarray(ref.backward(), dtype=np.float64)}
            else:
                ref.forward(np.array(case["x"]))
                out = {self.result_name: np.asarray(ref.backward(np.array(case["dout"])), dtype=np.float64)}
            out.update({k: np.asarray(ref.grads[k], dtype=np.float64) for k in self.params})
            return out

        return cached((self.class_name, case["key"], "analytic"), reference, run)
