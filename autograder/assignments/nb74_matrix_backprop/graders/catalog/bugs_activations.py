"""The catalog's bugs of Sigmoid, ReLU and Tanh backward (see __init__.py)."""

from __future__ import annotations

from .entries import CACHE_X, Entry, bug

ACTIVATIONS: list[Entry] = [
    # -- Sigmoid -------------------------------------------------------------------------------------
    bug(
        "sigmoid_uses_x",
        "sigmoid",
        "sigmoid",
        "derivative x(1 - x) from the input instead of y(1 - y)",
        """
        def backward(self, dout):
            x = self.cache['x']
            return dout * x * (1 - x)
        """,
        forward_extra=CACHE_X,
    ),
    bug(
        "sigmoid_exp_overflow",
        "sigmoid",
        "sigmoid",
        "recomputes exp(-x)/(1+exp(-x))^2: inf/inf = NaN at x = -1000",
        """
        def backward(self, dout):
            e = np.exp(-self.cache['x'])
            return dout * e / (1 + e) ** 2
        """,
        forward_extra=CACHE_X,
    ),
    bug(
        "sigmoid_no_dout",
        "sigmoid",
        "sigmoid",
        "returns y(1 - y) without multiplying by dout",
        """
        def backward(self, dout):
            y = self.cache['y']
            return y * (1 - y)
        """,
    ),
    bug(
        "sigmoid_dout_in_place",
        "sigmoid",
        "sigmoid",
        "dout *= y(1 - y); return dout",
        """
        def backward(self, dout):
            y = self.cache['y']
            dout *= y * (1 - y)
            return dout
        """,
    ),
    bug(
        "sigmoid_cache_in_place",
        "sigmoid",
        "sigmoid",
        "y *= (1 - y) on the cached array: the second call is wrong",
        """
        def backward(self, dout):
            y = self.cache['y']
            y *= (1 - y)
            return dout * y
        """,
    ),
    bug(
        "sigmoid_numerical",
        "sigmoid",
        "sigmoid",
        "numerical differentiation calling forward inside backward",
        """
        def backward(self, dout):
            x, h = self.cache['x'], 1e-5
            slope = (self.forward(x + h) - self.forward(x - h)) / (2 * h)
            self.forward(x)
            return dout * slope
        """,
        forward_extra=CACHE_X,
    ),
    bug(
        "sigmoid_numerical_copy",
        "sigmoid",
        "sigmoid",
        "differences of a copy of the forward formula (no forward call the runner could count)",
        """
        def backward(self, dout):
            x, h = self.cache['x'], 1e-5
            f = lambda v: 1 / (1 + np.exp(-v))
            return dout * (f(x + h) - f(x - h)) / (2 * h)
        """,
        forward_extra=CACHE_X,
    ),
    # -- ReLU ----------------------------------------------------------------------------------------
    bug(
        "relu_on_gradient",
        "relu",
        "relu",
        "ReLU applied to the gradient: np.maximum(0, dout)",
        """
        def backward(self, dout):
            return np.maximum(0, dout)
        """,
    ),
    bug(
        "relu_mask_from_dout",
        "relu",
        "relu",
        "mask dout > 0 instead of x > 0",
        """
        def backward(self, dout):
            return dout * (dout > 0)
        """,
    ),
    bug(
        "relu_dout_in_place",
        "relu",
        "relu",
        "dout[mask == 0] = 0; return dout",
        """
        def backward(self, dout):
            dout[self.cache['mask'] == 0] = 0
            return dout
        """,
    ),
    bug(
        "relu_memo_mask",
        "relu",
        "relu",
        "memoises a boolean mask on the first backward (stale after the next forward)",
        """
        def backward(self, dout):
            if 'grad_mask' not in self.cache:
                self.cache['grad_mask'] = self.cache['mask'] > 0
            return dout * self.cache['grad_mask']
        """,
    ),
    bug(
        "relu_inline_difference",
        "relu",
        "relu",
        "slope by an inline difference with h = 1e-3 (wrong for |x| < h)",
        """
        def backward(self, dout):
            x, h = self.cache['x'], 1e-3
            return dout * (np.maximum(0, x + h) - np.maximum(0, x - h)) / (2 * h)
        """,
        forward_extra=CACHE_X,
    ),
    bug(
        "relu_numerical_copy",
        "relu",
        "relu",
        "central differences of np.maximum(0, x) with h = 1e-7",
        """
        def backward(self, dout):
            x, h = self.cache['x'], 1e-7
            return dout * (np.maximum(0, x + h) - np.maximum(0, x - h)) / (2 * h)
        """,
        forward_extra=CACHE_X,
    ),
    # -- Tanh ----------------------------------------------------------------------------------------
    bug(
        "tanh_one_minus_y",
        "tanh",
        "tanh",
        "1 - y instead of 1 - y**2",
        """
        def backward(self, dout):
            y = self.cache['y']
            return dout * (1 - y)
        """,
    ),
    bug(
        "tanh_uses_x",
        "tanh",
        "tanh",
        "1 - x**2 from the input",
        """
        def backward(self, dout):
            x = self.cache['x']
            return dout * (1 - x ** 2)
        """,
        forward_extra=CACHE_X,
    ),
    bug(
        "tanh_memo_derivative",
        "tanh",
        "tanh",
        "memoises 1 - y**2 on the first backward (stale after the next forward)",
        """
        def backward(self, dout):
            if 'dy' not in self.cache:
                self.cache['dy'] = 1 - self.cache['y'] ** 2
            return dout * self.cache['dy']
        """,
    ),
    bug(
        "tanh_exp_overflow",
        "tanh",
        "tanh",
        "recomputes tanh from exp(x), exp(-x): inf/inf = NaN at |x| = 1000",
        """
        def backward(self, dout):
            x = self.cache['x']
            th = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
            return dout * (1 - th ** 2)
        """,
        forward_extra=CACHE_X,
    ),
    bug(
        "tanh_numerical_copy",
        "tanh",
        "tanh",
        "central differences of np.tanh with h = 1e-6 (forward not called)",
        """
        def backward(self, dout):
            x, h = self.cache['x'], 1e-6
            return dout * (np.tanh(x + h) - np.tanh(x - h)) / (2 * h)
        """,
        forward_extra=CACHE_X,
    ),
]
