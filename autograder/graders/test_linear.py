"""Linear.backward: dx, grads['W'], grads['b'] against central differences of the reference forward."""
from __future__ import annotations

import numpy as np
import pytest

from .checks import EXACT_TOL, assert_gradient, assert_shape, numerical_gradient

# (N, D_in, D_out): batch of one, non-square weights, wide and tall layers.
SHAPES = [(1, 3, 2), (5, 4, 7), (8, 6, 1), (3, 1, 5)]
SEEDS = [7411, 7412]


def setup_layer(student, rng, n, d_in, d_out):
    layer = student.new("Linear", d_in, d_out)
    W, b = rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
    layer.set("params", "W", W)
    layer.set("params", "b", b)
    return layer, W, b, rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))


def expected_gradients(reference, W, b, x, dout):
    """Central differences of the reference forward (L = sum(dout * forward))."""
    ref = reference.Linear(*W.shape)

    def loss(x_, W_, b_):
        ref.params["W"], ref.params["b"] = W_, b_
        return float(np.sum(ref.forward(x_) * dout))

    return (numerical_gradient(lambda v: loss(v, W, b), x),
            numerical_gradient(lambda v: loss(x, v, b), W),
            numerical_gradient(lambda v: loss(x, W, v), b))


@pytest.mark.parametrize("shape", SHAPES)
def test_gradient_shapes(student, shape):
    n, d_in, d_out = shape
    layer, W, b, x, dout = setup_layer(student, np.random.default_rng(1), n, d_in, d_out)
    layer.forward(x)
    dx = layer.backward(dout)
    assert_shape(f"dx（N={n}, D_in={d_in}, D_out={d_out}）", dx, x.shape)
    from autograder.student import as_float_array
    assert_shape(f"grads['W']（N={n}, D_in={d_in}, D_out={d_out}）",
                 as_float_array(layer.get("grads", "W"), "grads['W']"), W.shape)
    assert_shape(f"grads['b']（N={n}, D_in={d_in}, D_out={d_out}）",
                 as_float_array(layer.get("grads", "b"), "grads['b']"), b.shape)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradients(student, reference, shape, seed):
    from autograder.student import as_float_array
    n, d_in, d_out = shape
    layer, W, b, x, dout = setup_layer(student, np.random.default_rng(seed), n, d_in, d_out)
    ref = reference.Linear(d_in, d_out)
    ref.params["W"], ref.params["b"] = W, b
    assert_gradient("Linear.forward の出力（用意された順伝播を変更していませんか？）",
                    layer.forward(x), ref.forward(x), tol=EXACT_TOL)
    dx = layer.backward(dout)
    num_dx, num_dW, num_db = expected_gradients(reference, W, b, x, dout)
    where = f"（N={n}, D_in={d_in}, D_out={d_out}）"
    assert_gradient(f"dW = grads['W']{where}", as_float_array(layer.get("grads", "W"), "grads['W']"), num_dW)
    assert_gradient(f"db = grads['b']{where}", as_float_array(layer.get("grads", "b"), "grads['b']"), num_db)
    assert_gradient(f"dx{where}", dx, num_dx)
