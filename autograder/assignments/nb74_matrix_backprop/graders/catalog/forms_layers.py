"""The catalog's equivalent correct forms of the layers' backward (see __init__.py)."""

from __future__ import annotations

from .entries import CACHE_X, Entry, form

LAYERS: list[Entry] = [
    # -- Linear --
    form(
        "linear_np_dot",
        "linear",
        "linear",
        "np.dot and dout.sum(0)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = np.dot(x.T, dout)
            self.grads['b'] = dout.sum(0)
            return np.dot(dout, self.params['W'].T)
        """,
    ),
    form(
        "linear_einsum",
        "linear",
        "linear",
        "einsum for all three",
        """
        def backward(self, dout):
            x, W = self.cache['x'], self.params['W']
            self.grads['W'] = np.einsum('ni,no->io', x, dout)
            self.grads['b'] = np.einsum('no->o', dout)
            return np.einsum('no,io->ni', dout, W)
        """,
    ),
    form(
        "linear_transposes",
        "linear",
        "linear",
        "(dout.T @ x).T, ones @ dout, (W @ dout.T).T",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = (dout.T @ x).T
            self.grads['b'] = np.ones(dout.shape[0]) @ dout
            return (self.params['W'] @ dout.T).T
        """,
    ),
    form(
        "linear_copy_matmul",
        "linear",
        "linear",
        "copies dout first, np.matmul",
        """
        def backward(self, dout):
            d = dout.copy()
            x = self.cache['x']
            self.grads['W'] = np.matmul(x.T, d)
            self.grads['b'] = np.sum(d, axis=0)
            return np.matmul(d, self.params['W'].T)
        """,
    ),
    form(
        "linear_tensordot_update",
        "linear",
        "linear",
        "tensordot, grads.update",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads.update(W=np.tensordot(x, dout, axes=([0], [0])), b=dout.sum(axis=0))
            return np.tensordot(dout, self.params['W'], axes=([1], [1]))
        """,
    ),
    # -- Sigmoid --
    form(
        "sigmoid_y_minus_y2",
        "sigmoid",
        "sigmoid",
        "dout * (y - y**2)",
        """
        def backward(self, dout):
            y = self.cache['y']
            return dout * (y - y ** 2)
        """,
    ),
    form(
        "sigmoid_multiply",
        "sigmoid",
        "sigmoid",
        "np.multiply with 1.0 - y",
        """
        def backward(self, dout):
            y = self.cache['y']
            return np.multiply(dout, y * (1.0 - y))
        """,
    ),
    form(
        "sigmoid_tanh_from_x",
        "sigmoid",
        "sigmoid",
        "recomputes sigmoid stably from a cached x: 0.5(1 + tanh(x/2))",
        """
        def backward(self, dout):
            s = 0.5 * (1 + np.tanh(0.5 * self.cache['x']))
            return dout * s * (1 - s)
        """,
        forward_extra=CACHE_X,
    ),
    form(
        "sigmoid_logaddexp",
        "sigmoid",
        "sigmoid",
        "σ(x)σ(-x) = exp(-logaddexp(0, -x) - logaddexp(0, x)) from a cached x",
        """
        def backward(self, dout):
            x = self.cache['x']
            return dout * np.exp(-np.logaddexp(0, -x) - np.logaddexp(0, x))
        """,
        forward_extra=CACHE_X,
    ),
    form(
        "sigmoid_copy_first",
        "sigmoid",
        "sigmoid",
        "copies dout, then multiplies in place",
        """
        def backward(self, dout):
            dx = np.array(dout, copy=True)
            y = self.cache['y']
            dx *= y
            dx *= 1 - y
            return dx
        """,
    ),
    # -- ReLU --
    form(
        "relu_where",
        "relu",
        "relu",
        "np.where(mask > 0, dout, 0)",
        """
        def backward(self, dout):
            return np.where(self.cache['mask'] > 0, dout, 0.0)
        """,
    ),
    form(
        "relu_x_ge_0",
        "relu",
        "relu",
        "mask x >= 0 from a cached x (subgradient 1 at 0)",
        """
        def backward(self, dout):
            return dout * (self.cache['x'] >= 0)
        """,
        forward_extra=CACHE_X,
    ),
    form(
        "relu_heaviside",
        "relu",
        "relu",
        "np.heaviside(x, 0) from a cached x",
        """
        def backward(self, dout):
            return dout * np.heaviside(self.cache['x'], 0.0)
        """,
        forward_extra=CACHE_X,
    ),
    form(
        "relu_copy_assign",
        "relu",
        "relu",
        "dx = dout.copy(); dx[mask == 0] = 0",
        """
        def backward(self, dout):
            dx = dout.copy()
            dx[self.cache['mask'] == 0] = 0
            return dx
        """,
    ),
    form(
        "relu_bool_mask",
        "relu",
        "relu",
        "boolean mask mask != 0",
        """
        def backward(self, dout):
            return dout * (self.cache['mask'] != 0)
        """,
    ),
    # -- Tanh --
    form(
        "tanh_factored",
        "tanh",
        "tanh",
        "(1 - y)(1 + y)",
        """
        def backward(self, dout):
            y = self.cache['y']
            return dout * (1 - y) * (1 + y)
        """,
    ),
    form(
        "tanh_subtract",
        "tanh",
        "tanh",
        "dout - dout * y**2",
        """
        def backward(self, dout):
            y = self.cache['y']
            return dout - dout * y ** 2
        """,
    ),
    form(
        "tanh_square",
        "tanh",
        "tanh",
        "1 - np.square(y)",
        """
        def backward(self, dout):
            return dout * (1 - np.square(self.cache['y']))
        """,
    ),
    form(
        "tanh_cosh",
        "tanh",
        "tanh",
        "1/cosh(x)**2 from a cached x (cosh overflows to inf, 1/inf = 0)",
        """
        def backward(self, dout):
            with np.errstate(over='ignore'):
                return dout / np.cosh(self.cache['x']) ** 2
        """,
        forward_extra=CACHE_X,
    ),
    form(
        "tanh_multiply",
        "tanh",
        "tanh",
        "np.multiply(dout, 1.0 - y*y)",
        """
        def backward(self, dout):
            y = self.cache['y']
            return np.multiply(dout, 1.0 - y * y)
        """,
    ),
]
