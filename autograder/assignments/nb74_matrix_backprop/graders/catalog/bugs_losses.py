"""The catalog's bugs of the losses, and of the MLP (layers that share state) (see __init__.py)."""

from __future__ import annotations

from .entries import Entry, bug

LOSSES: list[Entry] = [
    # -- MSELoss -------------------------------------------------------------------------------------
    bug(
        "mse_seed_2_over_N",
        "mse",
        "mse",
        "the seed's 2(y - t)/N: D times too large for D > 1",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return 2 * (y - t) / self.cache['N']
        """,
    ),
    bug(
        "mse_missing_2",
        "mse",
        "mse",
        "(y - t)/(N·D): the factor 2 forgotten",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return (y - t) / y.size
        """,
    ),
    bug(
        "mse_not_normalised",
        "mse",
        "mse",
        "2(y - t) without dividing by N·D",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return 2 * (y - t)
        """,
    ),
    bug(
        "mse_sign",
        "mse",
        "mse",
        "2(t - y)/(N·D): sign flipped",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return 2 * (t - y) / y.size
        """,
    ),
    bug(
        "mse_over_D",
        "mse",
        "mse",
        "divides by D (the columns) only",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return 2 * (y - t) / y.shape[1]
        """,
    ),
    bug(
        "mse_forward_edited",
        "mse",
        "mse",
        "forward changed to sum/N so that the seed's 2(y - t)/N matches it",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return 2 * (y - t) / self.cache['N']
        """,
        replace=("loss = np.mean((y - t) ** 2)", "loss = np.sum((y - t) ** 2) / y.shape[0]"),
    ),
    bug(
        "mse_cache_in_place",
        "mse",
        "mse",
        "d = cache['y']; d -= t: the second call is wrong",
        """
        def backward(self):
            d = self.cache['y']
            d -= self.cache['t']
            return 2 * d / d.size
        """,
    ),
    bug(
        "mse_numerical_loop",
        "mse",
        "mse",
        "central differences of the loss formula, element by element",
        """
        def backward(self):
            y, t, h = self.cache['y'], self.cache['t'], 1e-5
            grad = np.zeros_like(y)
            for i in np.ndindex(y.shape):
                yp, ym = y.copy(), y.copy()
                yp[i] += h
                ym[i] -= h
                grad[i] = (np.mean((yp - t) ** 2) - np.mean((ym - t) ** 2)) / (2 * h)
            return grad
        """,
    ),
    # -- SoftmaxCrossEntropy ------------------------------------------------------------------------
    bug(
        "softmax_no_1_over_N",
        "softmax_ce",
        "softmax_ce",
        "p - t without /N",
        """
        def backward(self):
            return self.cache['p'] - self.cache['t']
        """,
    ),
    bug(
        "softmax_times_p_1_minus_p",
        "softmax_ce",
        "softmax_ce",
        "multiplies by p(1 - p) as if for a sigmoid",
        """
        def backward(self):
            p, t, N = self.cache['p'], self.cache['t'], self.cache['N']
            return (p - t) * p * (1 - p) / N
        """,
    ),
    bug(
        "softmax_grad_wrt_p",
        "softmax_ce",
        "softmax_ce",
        "the gradient with respect to p: -t/p/N",
        """
        def backward(self):
            p, t, N = self.cache['p'], self.cache['t'], self.cache['N']
            return -t / p / N
        """,
    ),
    bug(
        "softmax_over_NC",
        "softmax_ce",
        "softmax_ce",
        "divides by N·C",
        """
        def backward(self):
            p, t = self.cache['p'], self.cache['t']
            return (p - t) / p.size
        """,
    ),
    bug(
        "softmax_onehot_ignored",
        "softmax_ce",
        "softmax_ce",
        "keeps the raw labels and indexes with them (one-hot targets break)",
        """
        def backward(self):
            p, labels, N = self.cache['p'], self.cache['labels'], self.cache['N']
            dx = p.copy()
            dx[np.arange(N), labels] -= 1
            return dx / N
        """,
        replace=("N = x.shape[0]\n", "N = x.shape[0]\n        self.cache['labels'] = t\n"),
    ),
    bug(
        "softmax_cache_in_place",
        "softmax_ce",
        "softmax_ce",
        "dx = cache['p']; dx -= t: the second call is wrong",
        """
        def backward(self):
            dx = self.cache['p']
            dx -= self.cache['t']
            return dx / self.cache['N']
        """,
    ),
    bug(
        "softmax_unstable_recompute",
        "softmax_ce",
        "softmax_ce",
        "recomputes softmax from cached logits without the max shift",
        """
        def backward(self):
            e = np.exp(self.cache['x'])
            p = e / np.sum(e, axis=1, keepdims=True)
            return (p - self.cache['t']) / self.cache['N']
        """,
        replace=("N = x.shape[0]\n", "N = x.shape[0]\n        self.cache['x'] = x\n"),
    ),
    bug(
        "softmax_forward_log_eps",
        "softmax_ce",
        "softmax_ce",
        "forward edited back to -log(p + 1e-10)",
        """
        def backward(self):
            return (self.cache['p'] - self.cache['t']) / self.cache['N']
        """,
        replace=("loss = -np.sum(t * log_p) / N", "loss = -np.sum(t * np.log(p + 1e-10)) / N"),
    ),
    # -- integration: a layer that passes alone but shares state between instances ----------------
    bug(
        "relu_class_attribute",
        "mlp",
        "relu",
        "keeps the mask in a class attribute (shared by all ReLU layers)",
        """
        def backward(self, dout):
            return dout * ReLU.last_mask
        """,
        forward_extra="ReLU.last_mask = (x > 0).astype(float)",
    ),
    bug(
        "sigmoid_global",
        "mlp",
        "sigmoid",
        "keeps y in a global variable (shared by all Sigmoid layers)",
        """
        def backward(self, dout):
            return dout * _sigmoid_y * (1 - _sigmoid_y)
        """,
        replace=(
            "        self.cache['y'] = y\n",
            "        self.cache['y'] = y\n        global _sigmoid_y\n        _sigmoid_y = y\n",
        ),
    ),
]
