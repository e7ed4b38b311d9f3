"""MLP integration: the student's layers chained into a network, checked end to end.

The network is composed here, layer by layer, from the student's Linear and activation classes
(through the channel) and the reference's. A student class is used only when its own part earned
full points, so a bug in a layer is charged once, on that layer's part; a case where neither the
Linear nor the activation would be the student's cannot be graded and fails, saying which parts it
waits for. Expected values: central differences of the same network built from reference layers.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

from autograder.graders.cache import cached, case_cache
from autograder.graders.calls import MISSING, Round
from autograder.graders.expected_store import array_digest
from autograder.graders.numerics import numerical_gradient
from autograder.graders.seeds import benchmark_seeds
from autograder.graders.session import seeded
from autograder.sandbox.part_session import PartSession

from ..public.findings import Finding
from . import messages as say
from .backward import as_result
from .checks import Mismatch, assert_forward, assert_gradient, assert_shape

# activation -> (class name, part name)
ACTIVATIONS = {"relu": ("ReLU", "relu"), "sigmoid": ("Sigmoid", "sigmoid"), "tanh": ("Tanh", "tanh")}
# activation -> (layer dims, N): a deeper chain (two layers of each class), a batch of one, a single output
CASES = {"relu": ([3, 5, 4, 2], 4), "sigmoid": ([2, 4, 3], 1), "tanh": ([4, 3, 1], 6)}
SEED = 6113
RELU_MARGIN = 1e-3  # no pre-activation of a ReLU closer to 0 than this (differences stay on one piece)
# The chain's rounding error grows with its depth: a larger step than FD_STEP (truncation ~h² ≈ 1e-10
# for Sigmoid/Tanh, none for ReLU's linear pieces, as h·|input| ≪ RELU_MARGIN).
FD_STEP_MLP = 1e-5

Params = list[tuple[np.ndarray, np.ndarray]]  # (W, b) of each Linear


class Network:
    """A chain of layers, each a student RemoteObject or a local reference layer. The student's
    layers are made, and given their parameters, in one round trip."""

    def __init__(
        self,
        student: PartSession,
        reference: ModuleType,
        dims: list[int],
        activation: str,
        use_student: set[str],
        params: Params,
    ) -> None:
        cls_name, part = ACTIVATIONS[activation]
        # (class name, constructor args, (W, b) for a Linear, is the student's)
        specs: list[tuple[str, tuple[int, ...], tuple[np.ndarray, np.ndarray] | None, bool]] = []
        for i in range(len(dims) - 1):
            specs.append(("Linear", (dims[i], dims[i + 1]), params[i], "linear" in use_student))
            if i < len(dims) - 2:
                specs.append((cls_name, (), None, part in use_student))
        with Round(student) as r:  # every layer made first, then every Linear given its parameters
            made = {k: r.new(name, *args) for k, (name, args, _, theirs) in enumerate(specs) if theirs}
            assigned = [
                made[k].set("params", {"W": wb[0], "b": wb[1]})
                for k, (_, _, wb, _) in enumerate(specs)
                if k in made and wb is not None
            ]
        self.student = student
        self.layers: list[tuple[str, Any, bool]] = []  # (class name, layer, is the student's)
        for k, (name, args, wb, theirs) in enumerate(specs):
            if theirs:
                layer = made[k].object()
            else:
                layer = getattr(reference, name)(*args)
                if wb is not None:
                    layer.params["W"], layer.params["b"] = wb[0].copy(), wb[1].copy()
            self.layers.append((name, layer, theirs))
        for done in assigned:
            done.value()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input_shapes: list[tuple[int, ...]] = []
        for _, layer, _ in self.layers:
            self.input_shapes.append(np.shape(x))
            x = np.asarray(layer.forward(x), dtype=np.float64)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        for k in reversed(range(len(self.layers))):
            name, layer, theirs = self.layers[k]
            if theirs:  # checked before a reference layer gets it
                what = say.mlp_layer_result(k + 1, name)
                dout = as_result(layer.call("backward", dout), what)
                assert_shape(what, dout, self.input_shapes[k])
            else:
                dout = layer.backward(dout)
        return dout

    def grads(self) -> list[tuple[int, str, np.ndarray]]:
        """Every Linear's grads['W'] and grads['b'], the student's read in one round trip."""
        linears = [(layer, theirs) for name, layer, theirs in self.layers if name == "Linear"]
        with Round(self.student) as r:
            read = {
                (k, key): r.on(layer).get("grads", key)
                for k, (layer, theirs) in enumerate(linears)
                if theirs
                for key in ("W", "b")
            }
        out = []
        for k, (layer, theirs) in enumerate(linears):
            for key in ("W", "b"):
                if not theirs:
                    out.append((k, key, np.asarray(layer.grads[key])))
                    continue
                out.append((k, key, as_result(read[k, key].value(), f"Linear.grads['{key}']")))
        return out


def reference_forward(reference: ModuleType, activation: str, params: Params, x: np.ndarray) -> np.ndarray:
    act = getattr(reference, ACTIVATIONS[activation][0])
    for i, (W, b) in enumerate(params):
        x = _linear(reference, W, b).forward(x)
        if i < len(params) - 1:
            x = act().forward(x)
    return np.asarray(x)


def _linear(reference: ModuleType, W: np.ndarray, b: np.ndarray) -> Any:
    layer = reference.Linear(*W.shape)
    layer.params["W"], layer.params["b"] = W, b
    return layer


@case_cache
def make_case(seed: int, activation: str) -> dict[str, Any]:
    """Parameters, input and upstream gradient; for ReLU redrawn until no pre-activation is near 0."""
    dims, n = CASES[activation]
    rng = seeded(seed, 700 + list(ACTIVATIONS).index(activation))
    while True:
        params = [
            (rng.standard_normal((dims[i], dims[i + 1])) / np.sqrt(dims[i]), 0.5 * rng.standard_normal(dims[i + 1]))
            for i in range(len(dims) - 1)
        ]
        x = rng.standard_normal((n, dims[0]))
        if activation != "relu" or min_preactivation(params, x) >= RELU_MARGIN:
            break
    return {
        "key": (seed, activation),
        "dims": dims,
        "params": params,
        "x": x,
        "dout": rng.standard_normal((n, dims[-1])),
    }


def min_preactivation(params: Params, x: np.ndarray) -> float:
    out = np.inf
    for W, b in params[:-1]:
        x = x @ W + b
        out = min(out, float(np.min(np.abs(x))))
        x = np.maximum(0, x)
    return out


def expected(reference: ModuleType, case: dict[str, Any], activation: str) -> dict[str, Any]:
    params, x, dout = case["params"], case["x"], case["dout"]

    def f(x_: np.ndarray, p_: Params) -> np.ndarray:
        return reference_forward(reference, activation, p_, x_)

    grads = []
    for k, (W, b) in enumerate(params):

        def with_W(v: np.ndarray, k: int = k) -> np.ndarray:
            return f(x, [(v, pb) if j == k else (pW, pb) for j, (pW, pb) in enumerate(params)])

        def with_b(v: np.ndarray, k: int = k) -> np.ndarray:
            return f(x, [(pW, v) if j == k else (pW, pb) for j, (pW, pb) in enumerate(params)])

        grads.append(
            (numerical_gradient(with_W, W, dout, h=FD_STEP_MLP), numerical_gradient(with_b, b, dout, h=FD_STEP_MLP))
        )
    return {"y": f(x, params), "dx": numerical_gradient(lambda v: f(v, params), x, dout, h=FD_STEP_MLP), "grads": grads}


def usable(passed_parts: set[str], activation: str) -> set[str]:
    """The parts whose student class this case uses; fails when there is none."""
    cls_name, part = ACTIVATIONS[activation]
    use = {p for p in ("linear", part) if p in passed_parts}
    if not use:
        raise AssertionError(say.mlp_waits(cls_name))
    return use


def describe_use(use: set[str], activation: str) -> str:
    names = [n for n, p in (("Linear", "linear"), (ACTIVATIONS[activation][0], ACTIVATIONS[activation][1])) if p in use]
    return "、".join(names)


@pytest.fixture
def seed(grader_seed: int | None) -> int:
    return SEED if grader_seed is None else benchmark_seeds(grader_seed, 0).special


@pytest.mark.parametrize("activation", list(CASES))
def test_mlp_gradients(
    student: PartSession, reference: ModuleType, passed_parts: set[str], activation: str, seed: int
) -> None:
    use = usable(passed_parts, activation)
    case = make_case(seed, activation)
    dims, n = CASES[activation]
    net = Network(student, reference, dims, activation, use, case["params"])
    where = say.mlp_case(dims, activation, n, describe_use(use, activation))
    exp = cached(("mlp", activation, case["key"]), reference, lambda: expected(reference, case, activation))
    assert_forward(say.mlp_output(where), net.forward(case["x"]), exp["y"])
    dx = net.backward(case["dout"])
    assert_gradient(say.mlp_dx(where), np.asarray(dx, dtype=np.float64), exp["dx"])
    for k, key, got in net.grads():
        W_grad, b_grad = exp["grads"][k]
        assert_gradient(say.mlp_grad(where, k + 1, key), got, W_grad if key == "W" else b_grad)


def test_layers_independent(student: PartSession, reference: ModuleType, passed_parts: set[str], seed: int) -> None:
    """Two instances of each of the student's layer classes: forward A, forward B, backward A.

    A layer that keeps its state anywhere but in its own instance (a class attribute, a global)
    gives A the gradient of B's input."""
    rng = seeded(seed, 790)
    classes = [
        c
        for c, p in (("Linear", "linear"), ("Sigmoid", "sigmoid"), ("ReLU", "relu"), ("Tanh", "tanh"))
        if p in passed_parts
    ]
    if not classes:
        raise AssertionError(say.INDEPENDENCE_WAITS)
    for name in classes:
        drawn: list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]] = []  # (x, (W, b) for a Linear)
        for _ in range(2):
            x = away(rng.standard_normal((3, 4)))
            drawn.append((x, (rng.standard_normal((4, 2)), rng.standard_normal(2)) if name == "Linear" else None))
        x, wb = drawn[0]
        ref = getattr(reference, name)() if wb is None else _linear(reference, *wb)
        dout = rng.standard_normal(ref.forward(x).shape)
        dx, grads = forward_both_backward_first(student, name, drawn, dout)
        label, hint = say.two_layers(name), say.SHARED_STATE
        key = ("independent", name, array_digest(x, dout, *(drawn[0][1] or ())))  # draws depend on the classes
        exp = cached(key, reference, lambda: _independent_expected(reference, ref, x, dout))  # noqa: B023 (called at once)
        try:
            assert_gradient(f"{label} dx", dx, exp["dx"])
            for g in ("W", "b") if name == "Linear" else ():
                assert_gradient(f"{label} grads['{g}']", as_result(grads[g], f"Linear.grads['{g}']"), exp[g])
        except AssertionError as exc:
            raise Mismatch(f"{exc}{hint}", [Finding("shared_state", name, hint.lstrip("。"))]) from None


def forward_both_backward_first(
    student: PartSession,
    name: str,
    drawn: list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]],
    dout: np.ndarray,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Two instances of the student's class (with their params), forward each, backward the first:
    one round trip. Returns dx and the first instance's grads (MISSING where absent)."""
    args = (4, 2) if name == "Linear" else ()
    with Round(student) as r:
        layers = [r.new(name, *args, params=None if wb is None else {"W": wb[0], "b": wb[1]}) for _, wb in drawn]
        outputs = [layer.forward(x) for layer, (x, _) in zip(layers, drawn, strict=True)]
        first = layers[0].backward(dout, grads=("W", "b") if name == "Linear" else ())
    for layer in layers:
        layer.object()
    for out in outputs:
        out.value()
    call = first.value()
    dx = as_result(call.result, say.returned_by_backward(name))
    return dx, {k: call.grads.get(k, MISSING) for k in ("W", "b")}


def _independent_expected(reference: ModuleType, ref: Any, x: np.ndarray, dout: np.ndarray) -> dict[str, np.ndarray]:
    exp = {"dx": numerical_gradient(ref.forward, x, dout)}
    if isinstance(ref, reference.Linear):
        W, b = ref.params["W"], ref.params["b"]
        exp["W"] = numerical_gradient(lambda v: _linear(reference, v, b).forward(x), W, dout)
        exp["b"] = numerical_gradient(lambda v: _linear(reference, W, v).forward(x), b, dout)
    return exp


def away(x: np.ndarray) -> np.ndarray:
    """Inputs kept at |x| ≥ 1e-3 (ReLU's kink)."""
    return np.where(np.abs(x) < 1e-3, 0.5, x)
