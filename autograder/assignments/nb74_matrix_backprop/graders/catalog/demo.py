"""The example students of `python -m autograder demo` particular to Notebook 74 (the demo adds the
solution, the untouched release and a file that is no notebook): plain data, which
autograder/tools/demo.py turns into submissions."""

from __future__ import annotations

# (student, description, answer cell, correct expression in the solution, the mistake put in its place)
BUGS = (
    ("mse_2_over_n", "MSELoss.backward as in the seed: (2/N)(y - t), off by D", "mse", "/ y.size", "/ self.cache['N']"),
    ("linear_dW_T", "Linear.backward with a transposed dW: dout.T @ x", "linear", "x.T @ dout", "dout.T @ x"),
)
# (student, description, the answer cells completed; the others left as released)
PARTIAL = (
    ("layers_only", "only the four layers done, losses and exercises left", ("linear", "sigmoid", "relu", "tanh")),
)
