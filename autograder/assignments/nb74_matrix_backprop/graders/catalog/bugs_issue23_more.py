"""The catalog's bugs of issue 23, continued: the wrong quantity, in-place edits (see __init__.py)."""

from __future__ import annotations

from .entries import Entry, bug

ISSUE23_B: list[Entry] = [
    bug(
        "tanh_of_y",
        "tanh",
        "tanh",
        "tanh applied again to the cached output: 1 - tanh(y)**2",
        """
        def backward(self, dout):
            return dout * (1 - np.tanh(self.cache['y']) ** 2)
        """,
    ),
    bug(
        "tanh_dout_in_place",
        "tanh",
        "tanh",
        "dout *= 1 - y**2; return dout",
        """
        def backward(self, dout):
            y = self.cache['y']
            dout *= 1 - y ** 2
            return dout
        """,
    ),
    bug(
        "tanh_cache_in_place",
        "tanh",
        "tanh",
        "y **= 2 on the cached array: the second call is wrong",
        """
        def backward(self, dout):
            y = self.cache['y']
            y **= 2
            return dout * (1 - y)
        """,
    ),
    bug(
        "tanh_mean_broadcast",
        "tanh",
        "tanh",
        "the batch mean of dout(1 - y**2), broadcast back to every row",
        """
        def backward(self, dout):
            y = self.cache['y']
            return np.mean(dout * (1 - y ** 2), axis=0, keepdims=True) * np.ones_like(y)
        """,
    ),
    bug(
        "relu_times_output",
        "relu",
        "relu",
        "dout * y: multiplied by the output max(0, x) instead of the mask",
        """
        def backward(self, dout):
            return dout * self.cache['y']
        """,
        forward_extra="self.cache['y'] = np.maximum(0, x)",
    ),
    bug(
        "relu_mask_in_place",
        "relu",
        "relu",
        "mask *= dout on the cached mask: the second call is wrong",
        """
        def backward(self, dout):
            mask = self.cache['mask']
            mask *= dout
            return mask
        """,
    ),
    bug(
        "relu_dout_summed",
        "relu",
        "relu",
        "np.sum(dout, axis=0) * mask: dout reduced over the batch",
        """
        def backward(self, dout):
            return np.sum(dout, axis=0) * self.cache['mask']
        """,
    ),
    bug(
        "mse_t_minus_y_no_2",
        "mse",
        "mse",
        "(t - y)/(N·D): the sign flipped and the 2 forgotten",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return (t - y) / y.size
        """,
    ),
    bug(
        "mse_plain_difference",
        "mse",
        "mse",
        "y - t: neither the 2 nor the 1/(N·D)",
        """
        def backward(self):
            return self.cache['y'] - self.cache['t']
        """,
    ),
    bug(
        "mse_over_N_no_2",
        "mse",
        "mse",
        "(y - t)/N: the 2 forgotten, divided by N only",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return (y - t) / self.cache['N']
        """,
    ),
    bug(
        "mse_mean_axis0",
        "mse",
        "mse",
        "2 * np.mean(y - t, axis=0): averaged over the batch",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return 2 * np.mean(y - t, axis=0)
        """,
    ),
    bug(
        "mse_scalar",
        "mse",
        "mse",
        "2 * np.mean(y - t): one number",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return 2 * np.mean(y - t)
        """,
    ),
    bug(
        "mse_loss_terms",
        "mse",
        "mse",
        "(y - t)**2/(N·D): the loss terms, not differentiated",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return (y - t) ** 2 / y.size
        """,
    ),
    bug(
        "softmax_p_only",
        "softmax_ce",
        "softmax_ce",
        "p / N: t not subtracted",
        """
        def backward(self):
            return self.cache['p'] / self.cache['N']
        """,
    ),
    bug(
        "softmax_p_minus_1",
        "softmax_ce",
        "softmax_ce",
        "(p - 1)/N: 1 subtracted everywhere instead of the one-hot t",
        """
        def backward(self):
            return (self.cache['p'] - 1) / self.cache['N']
        """,
    ),
    bug(
        "softmax_mean_axis0",
        "softmax_ce",
        "softmax_ce",
        "np.mean(p - t, axis=0): averaged over the batch",
        """
        def backward(self):
            return np.mean(self.cache['p'] - self.cache['t'], axis=0)
        """,
    ),
    bug(
        "softmax_t_minus_p_no_N",
        "softmax_ce",
        "softmax_ce",
        "t - p: the sign flipped and no /N",
        """
        def backward(self):
            return self.cache['t'] - self.cache['p']
        """,
    ),
]
