"""The notebook's numerical_gradient_check, re-run quietly with the REFERENCE classes on a
student's recorded setup (their layers' parameters, X, t, loss and h)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.graders.numerics import numerical_gradient

from . import messages as say

Layers = list[tuple[str, dict[str, Any]]]  # the runner's description of a model: (class name, params)
ACTIVATION_CLASSES = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
MAX_CHECK_ROWS = 200  # the judge re-runs an exercise's check on at most this many samples


def shape_of(value: Any) -> tuple[int, ...]:
    """np.shape of a described value (None: ())."""
    return tuple(np.shape(value))


def reference_model(reference: Any, layers: Layers) -> Any:
    """The student's described layers rebuilt from reference classes, in a reference MLP shell."""
    built = []
    for k, (name, params) in enumerate(layers):
        if name == "Linear":
            W, b = params.get("W"), params.get("b")
            if not (
                isinstance(W, np.ndarray)
                and isinstance(b, np.ndarray)
                and W.ndim == 2
                and b.ndim == 1
                and W.dtype.kind in "iuf"
                and b.dtype.kind in "iuf"
                and b.shape[0] == W.shape[1]
            ):
                raise AssertionError(say.linear_not_arrays(k + 1))
            layer = reference.Linear(*W.shape)
            layer.params["W"], layer.params["b"] = W.astype(np.float64), b.astype(np.float64)
        elif name in ACTIVATION_CLASSES:
            layer = getattr(reference, name)()
        else:
            raise AssertionError(say.no_reference_layer(k + 1, name))
        built.append(layer)
    model = object.__new__(reference.MLP)
    model.layers = built
    return model


def reference_gradient_check(
    reference: Any, layers: Layers, loss_name: str, X: Any, t: Any, h: float
) -> list[tuple[int, str, float]]:
    """The notebook's numerical_gradient_check, quietly, with reference classes: (linear index, name, error)."""
    model = reference_model(reference, layers)
    loss_fn = getattr(reference, loss_name)()
    try:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 2 and X.shape[0] > MAX_CHECK_ROWS and np.ndim(t) >= 1 and np.shape(t)[0] == X.shape[0]:
            X, t = X[:MAX_CHECK_ROWS], t[:MAX_CHECK_ROWS]  # keeps the judge fast; the check stays meaningful
        with np.errstate(all="ignore"):
            loss_fn.forward(model.forward(X), t)
            model.backward(loss_fn.backward())
            out = []
            linears = [layer for layer in model.layers if isinstance(layer, reference.Linear)]
            for k, layer in enumerate(linears):
                for name in ("W", "b"):
                    param = layer.params[name]

                    def loss(v: np.ndarray, layer: Any = layer, name: str = name) -> Any:
                        layer.params[name] = v
                        return loss_fn.forward(model.forward(X), t)

                    num = numerical_gradient(loss, param, h=h)
                    layer.params[name] = param
                    out.append((k, name, float(reference.relative_error(layer.grads[name], num))))
    except Exception as exc:  # the student's X/t do not fit their model or the loss
        raise AssertionError(say.recheck_crashed(type(exc).__name__)) from None
    return out
