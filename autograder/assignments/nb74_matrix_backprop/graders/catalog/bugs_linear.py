"""The catalog's bugs of Linear.backward (see graders/catalog/__init__.py)."""

from __future__ import annotations

from .entries import Entry, bug

LINEAR: list[Entry] = [
    # -- Linear --------------------------------------------------------------------------------------
    bug(
        "linear_dW_transposed",
        "linear",
        "linear",
        "dW = dout.T @ x (transposed)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = dout.T @ x
            self.grads['b'] = np.sum(dout, axis=0)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_extra_1_over_N",
        "linear",
        "linear",
        "divides dW and db by N (an averaging habit)",
        """
        def backward(self, dout):
            x = self.cache['x']
            N = x.shape[0]
            self.grads['W'] = x.T @ dout / N
            self.grads['b'] = np.sum(dout, axis=0) / N
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_db_not_summed",
        "linear",
        "linear",
        "db = dout (not summed over the batch)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = dout
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_db_axis1",
        "linear",
        "linear",
        "db summed over axis=1",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout, axis=1)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_db_no_axis",
        "linear",
        "linear",
        "db = np.sum(dout) (a scalar)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_db_keepdims",
        "linear",
        "linear",
        "db with keepdims=True: shape (1, D_out)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout, axis=0, keepdims=True)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_dx_uses_W",
        "linear",
        "linear",
        "dx = dout @ W (W not transposed)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout, axis=0)
            return dout @ self.params['W']
        """,
    ),
    bug(
        "linear_dx_transposed",
        "linear",
        "linear",
        "dx = W @ dout.T: shape (D_in, N)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout, axis=0)
            return self.params['W'] @ dout.T
        """,
    ),
    bug(
        "linear_accumulates",
        "linear",
        "linear",
        "accumulates into grads with += after the first call",
        """
        def backward(self, dout):
            x = self.cache['x']
            if self.grads['W'] is None:
                self.grads['W'] = x.T @ dout
                self.grads['b'] = np.sum(dout, axis=0)
            else:
                self.grads['W'] += x.T @ dout
                self.grads['b'] += np.sum(dout, axis=0)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_stale_grads",
        "linear",
        "linear",
        "computes grads only once (if None) and reuses them",
        """
        def backward(self, dout):
            x = self.cache['x']
            if self.grads['W'] is None:
                self.grads['W'] = x.T @ dout
                self.grads['b'] = np.sum(dout, axis=0)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_returns_list",
        "linear",
        "linear",
        "returns dx.tolist() instead of an array",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout, axis=0)
            return (dout @ self.params['W'].T).tolist()
        """,
    ),
    bug(
        "linear_forward_edited",
        "linear",
        "linear",
        "forward edited: bias dropped (and db set to 0 to match)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.zeros_like(self.params['b'])
            return dout @ self.params['W'].T
        """,
        replace=("return x @ self.params['W'] + self.params['b']", "return x @ self.params['W']"),
    ),
    bug(
        "linear_stale_cache",
        "linear",
        "linear",
        "forward keeps the first input (cache.setdefault)",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            self.grads['b'] = np.sum(dout, axis=0)
            return dout @ self.params['W'].T
        """,
        replace=("self.cache['x'] = x", "self.cache.setdefault('x', x)"),  # the comment after it stays
    ),
]
