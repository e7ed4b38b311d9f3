"""The catalog's bugs of issue 23: missing factors, reductions over the batch (see __init__.py)."""

from __future__ import annotations

from .entries import Entry, bug

ISSUE23_A: list[Entry] = [
    # -- issue 23: missing factors, reductions over the batch, the wrong quantity, in-place edits ---
    bug(
        "linear_db_first_row",
        "linear",
        "linear",
        "db = dout[0]: the first sample only",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = dout[0]
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_db_last_row",
        "linear",
        "linear",
        "db = dout[-1]: the last sample only",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = dout[-1]
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_db_mean",
        "linear",
        "linear",
        "db = np.mean(dout, axis=0): the upstream already averaged",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.mean(dout, axis=0)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_dW_over_N",
        "linear",
        "linear",
        "dW divided by N once more (the loss already averaged)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout / x.shape[0]
            self.grads['b'] = np.sum(dout, axis=0)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_dx_over_N",
        "linear",
        "linear",
        "dx divided by N",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout, axis=0)
            return dout @ self.params['W'].T / len(x)
        """,
    ),
    bug(
        "linear_dx_np_dot_W",
        "linear",
        "linear",
        "np.dot(dout, W): W not transposed",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout, axis=0)
            return np.dot(dout, self.params['W'])
        """,
    ),
    bug(
        "linear_dW_outer_sums",
        "linear",
        "linear",
        "dW from the batch sums of x and dout (np.outer)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = np.outer(x.sum(axis=0), dout.sum(axis=0))
            self.grads['b'] = np.sum(dout, axis=0)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_dx_summed",
        "linear",
        "linear",
        "dx summed over the batch: np.sum(dout, axis=0) @ W.T",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout, axis=0)
            return np.sum(dout, axis=0) @ self.params['W'].T
        """,
    ),
    bug(
        "sigmoid_times_y",
        "sigmoid",
        "sigmoid",
        "dout * y: the factor (1 - y) forgotten",
        """
        def backward(self, dout):
            y = self.cache['y']
            return dout * y
        """,
    ),
    bug(
        "sigmoid_times_1_minus_y",
        "sigmoid",
        "sigmoid",
        "dout * (1 - y): the factor y forgotten",
        """
        def backward(self, dout):
            y = self.cache['y']
            return dout * (1 - y)
        """,
    ),
    bug(
        "sigmoid_of_y",
        "sigmoid",
        "sigmoid",
        "sigmoid applied again to the cached output: s(y)(1 - s(y))",
        """
        def backward(self, dout):
            s = 1 / (1 + np.exp(-self.cache['y']))
            return dout * s * (1 - s)
        """,
    ),
    bug(
        "sigmoid_dout_summed",
        "sigmoid",
        "sigmoid",
        "np.sum(dout, axis=0) * y(1 - y): dout reduced over the batch",
        """
        def backward(self, dout):
            y = self.cache['y']
            return np.sum(dout, axis=0) * y * (1 - y)
        """,
    ),
    bug(
        "sigmoid_sum_axis0",
        "sigmoid",
        "sigmoid",
        "np.sum(dout * y(1 - y), axis=0): summed like a bias gradient",
        """
        def backward(self, dout):
            y = self.cache['y']
            return np.sum(dout * y * (1 - y), axis=0)
        """,
    ),
    bug(
        "tanh_one_plus_y",
        "tanh",
        "tanh",
        "dout * (1 + y): the factor (1 - y) forgotten",
        """
        def backward(self, dout):
            y = self.cache['y']
            return dout * (1 + y)
        """,
    ),
    bug(
        "tanh_square_of_difference",
        "tanh",
        "tanh",
        "dout * (1 - y)**2 instead of 1 - y**2",
        """
        def backward(self, dout):
            y = self.cache['y']
            return dout * (1 - y) ** 2
        """,
    ),
]
