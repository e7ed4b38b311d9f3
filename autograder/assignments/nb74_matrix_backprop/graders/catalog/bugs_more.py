"""The catalog's bugs of the exercises, and those added for the diagnosis (issue 11) (see __init__.py)."""

from __future__ import annotations

from .entries import Entry, bug, solution_cell

MORE: list[Entry] = [
    # -- exercises -----------------------------------------------------------------------------------
    bug(
        "ex81_wrong_architecture",
        "exercise_8_1",
        "exercise_8_1",
        "MLP([2, 3, 3]) instead of MLP([2, 4, 3])",
        source=solution_cell("exercise_8_1").replace("MLP([2, 4, 3]", "MLP([2, 3, 3]"),
    ),
    bug(
        "ex81_mse_loss",
        "exercise_8_1",
        "exercise_8_1",
        "MSELoss with one-hot targets instead of SoftmaxCrossEntropy",
        source=solution_cell("exercise_8_1")
        .replace("SoftmaxCrossEntropy()", "MSELoss()")
        .replace("t_81 = np.random.randint(0, 3, size=6)", "t_81 = np.eye(3)[np.random.randint(0, 3, size=6)]"),
    ),
    bug(
        "ex81_float_labels",
        "exercise_8_1",
        "exercise_8_1",
        "class labels as floats",
        source=solution_cell("exercise_8_1").replace(
            "t_81 = np.random.randint(0, 3, size=6)", "t_81 = np.random.randint(0, 3, size=6).astype(float)"
        ),
    ),
    bug(
        "ex81_no_check",
        "exercise_8_1",
        "exercise_8_1",
        "passed_81 = True without running the check",
        source=solution_cell("exercise_8_1").replace(
            "passed_81 = numerical_gradient_check(model_81, loss_81, X_81, t_81)", "passed_81 = True"
        ),
    ),
    bug(
        "ex81_single_sample",
        "exercise_8_1",
        "exercise_8_1",
        "X with one sample",
        source=solution_cell("exercise_8_1")
        .replace("X_81 = np.random.randn(6, 2)", "X_81 = np.random.randn(1, 2)")
        .replace("size=6", "size=1"),
    ),
    bug(
        "ex82_labels_1d",
        "exercise_8_2",
        "exercise_8_2",
        "t of shape (N,): y - t broadcasts to (N, N)",
        source=solution_cell("exercise_8_2").replace("t_82 = np.random.randn(5, 1)", "t_82 = np.random.randn(5)"),
    ),
    bug(
        "ex82_wrong_architecture",
        "exercise_8_2",
        "exercise_8_2",
        "MLP([3, 8, 4, 1]): a layer missing",
        source=solution_cell("exercise_8_2").replace("MLP([3, 8, 8, 4, 1]", "MLP([3, 8, 4, 1]"),
    ),
    bug(
        "ex82_relu_zero_inputs",
        "exercise_8_2",
        "exercise_8_2",
        "ReLU with all-zero inputs: every difference straddles the kink",
        source=solution_cell("exercise_8_2")
        .replace("activation='sigmoid'", "activation='relu'")
        .replace("X_82 = np.random.randn(5, 3)", "X_82 = np.zeros((5, 3))"),
    ),
    bug(
        "ex82_cell_error",
        "exercise_8_2",
        "exercise_8_2",
        "a typo after the check: the cell raises NameError",
        source=solution_cell("exercise_8_2") + "\nprint(passed82)\n",
    ),
    # -- bugs added for the diagnosis (issue 11): every diagnosis code has at least two ------------
    bug(
        "softmax_sign",
        "softmax_ce",
        "softmax_ce",
        "(t - p)/N: sign flipped",
        """
        def backward(self):
            return (self.cache['t'] - self.cache['p']) / self.cache['N']
        """,
    ),
    bug(
        "tanh_no_dout",
        "tanh",
        "tanh",
        "returns 1 - y**2 without multiplying by dout",
        """
        def backward(self, dout):
            return 1 - self.cache['y'] ** 2
        """,
    ),
    bug(
        "relu_no_dout",
        "relu",
        "relu",
        "returns the mask without multiplying by dout",
        """
        def backward(self, dout):
            return self.cache['mask'].copy()
        """,
    ),
    bug(
        "relu_mask_inverted",
        "relu",
        "relu",
        "mask inverted: passes the gradient where x <= 0",
        """
        def backward(self, dout):
            return dout * (1 - self.cache['mask'])
        """,
    ),
    bug(
        "linear_grads_wrong_keys",
        "linear",
        "linear",
        "grads stored under 'dW' and 'db' instead of 'W' and 'b'",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['dW'] = x.T @ dout
            self.grads['db'] = np.sum(dout, axis=0)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_no_db",
        "linear",
        "linear",
        "never sets grads['b']",
        """
        def backward(self, dout):
            x = self.cache['x']
            self.grads['W'] = x.T @ dout
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "linear_float32",
        "linear",
        "linear",
        "computes the gradients in float32",
        """
        def backward(self, dout):
            x, d = self.cache['x'].astype(np.float32), dout.astype(np.float32)
            self.grads['W'] = x.T @ d
            self.grads['b'] = np.sum(d, axis=0)
            return d @ self.params['W'].T.astype(np.float32)
        """,
    ),
    bug(
        "linear_accumulates_from_zeros",
        "linear",
        "linear",
        "grads start at zeros and every backward adds to them (+=)",
        """
        def backward(self, dout):
            x = self.cache['x']
            if self.grads['W'] is None:
                self.grads['W'] = np.zeros_like(self.params['W'])
                self.grads['b'] = np.zeros_like(self.params['b'])
            self.grads['W'] += x.T @ dout
            self.grads['b'] += np.sum(dout, axis=0)
            return dout @ self.params['W'].T
        """,
    ),
    bug(
        "mse_returns_list",
        "mse",
        "mse",
        "returns the gradient as a list",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return (2 * (y - t) / y.size).tolist()
        """,
    ),
    bug(
        "sigmoid_float32",
        "sigmoid",
        "sigmoid",
        "computes the derivative in float32",
        """
        def backward(self, dout):
            y = self.cache['y'].astype(np.float32)
            return dout.astype(np.float32) * y * (1 - y)
        """,
    ),
]
