"""The catalog's equivalent correct forms of the losses and the exercises (see __init__.py)."""

from __future__ import annotations

from .entries import Entry, form, solution_cell

LOSSES_AND_EXERCISES: list[Entry] = [
    # -- MSELoss --
    form(
        "mse_N_times_D",
        "mse",
        "mse",
        "2(y - t)/(N*D) with the shape",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            N, D = y.shape
            return 2 * (y - t) / (N * D)
        """,
    ),
    form(
        "mse_prod_shape",
        "mse",
        "mse",
        "(2/np.prod(shape))(y - t)",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return (2.0 / np.prod(y.shape)) * (y - t)
        """,
    ),
    form(
        "mse_len",
        "mse",
        "mse",
        "2(y - t)/len(y)/D",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return 2 * (y - t) / len(y) / y.shape[1]
        """,
    ),
    form(
        "mse_subtract",
        "mse",
        "mse",
        "np.subtract(y, t) * (2 / y.size)",
        """
        def backward(self):
            return np.subtract(self.cache['y'], self.cache['t']) * (2 / self.cache['y'].size)
        """,
    ),
    form(
        "mse_np_size",
        "mse",
        "mse",
        "N from the cache, D from the shape",
        """
        def backward(self):
            y, t = self.cache['y'], self.cache['t']
            return 2 * (y - t) / (self.cache['N'] * y.shape[-1])
        """,
    ),
    # -- SoftmaxCrossEntropy --
    form(
        "softmax_index_subtract",
        "softmax_ce",
        "softmax_ce",
        "dx = p.copy(); dx[range, argmax t] -= 1; dx / N",
        """
        def backward(self):
            p, t, N = self.cache['p'], self.cache['t'], self.cache['N']
            dx = p.copy()
            dx[np.arange(N), np.argmax(t, axis=1)] -= 1
            return dx / N
        """,
    ),
    form(
        "softmax_shape_N",
        "softmax_ce",
        "softmax_ce",
        "N from p.shape",
        """
        def backward(self):
            p, t = self.cache['p'], self.cache['t']
            return (p - t) / p.shape[0]
        """,
    ),
    form(
        "softmax_split",
        "softmax_ce",
        "softmax_ce",
        "p/N - t/N",
        """
        def backward(self):
            p, t, N = self.cache['p'], self.cache['t'], self.cache['N']
            return p / N - t / N
        """,
    ),
    form(
        "softmax_subtract",
        "softmax_ce",
        "softmax_ce",
        "np.subtract(p, t) * (1.0 / N)",
        """
        def backward(self):
            return np.subtract(self.cache['p'], self.cache['t']) * (1.0 / self.cache['N'])
        """,
    ),
    form(
        "softmax_len",
        "softmax_ce",
        "softmax_ce",
        "(p - t)/len(p)",
        """
        def backward(self):
            p = self.cache['p']
            return (p - self.cache['t']) / len(p)
        """,
    ),
    # -- exercises (other correct setups) --
    form(
        "ex81_onehot_relu",
        "exercise_8_1",
        "exercise_8_1",
        "ReLU model, one-hot targets, keyword arguments",
        source=solution_cell("exercise_8_1")
        .replace("activation='tanh'", "activation='relu'")
        .replace("t_81 = np.random.randint(0, 3, size=6)", "t_81 = np.eye(3)[np.random.randint(0, 3, size=6)]")
        .replace(
            "numerical_gradient_check(model_81, loss_81, X_81, t_81)",
            "numerical_gradient_check(model=model_81, loss_fn=loss_81, X=X_81, t=t_81)",
        ),
    ),
    form(
        "ex82_tanh_h",
        "exercise_8_2",
        "exercise_8_2",
        "Tanh model, a larger batch, an explicit h",
        source=solution_cell("exercise_8_2")
        .replace("activation='sigmoid'", "activation='tanh'")
        .replace("np.random.randn(5, 3)", "np.random.randn(20, 3)")
        .replace("np.random.randn(5, 1)", "np.random.randn(20, 1)")
        .replace(
            "numerical_gradient_check(model_82, loss_82, X_82, t_82)",
            "numerical_gradient_check(model_82, loss_82, X_82, t_82, h=1e-6)",
        ),
    ),
]
