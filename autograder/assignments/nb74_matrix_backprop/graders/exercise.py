"""Grading an exercise: the setup of a gradient check, never the student's backward.

The answer cell runs with numerical_gradient_check replaced by a recorder; the recorded arguments
(model as described layers, loss class, X, t, h) are graded, and the check is re-run here with the
REFERENCE classes on the student's parameters and data, so a backward bug is never charged twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.graders.cache import cached
from autograder.graders.expected_store import array_digest
from autograder.graders.numerics import FD_TOL
from autograder.graders.session import current
from autograder.sandbox.errors import Missing
from autograder.sandbox.part_session import PartSession
from autograder.sandbox.received import clean_text, error_message, student_text

from . import messages as say
from .exercise_recheck import ACTIVATION_CLASSES, Layers, reference_gradient_check, shape_of

CHECK_ARGS = ("model", "loss_fn", "X", "t", "h")
# the notebook's one pass rule (GRAD_TOL in its given checks): max-normalised error ≤ FD_TOL
NOTEBOOK_CHECK_TOL = FD_TOL
# ... and on at most this many parameters and layers (the exercises ask for 27 parameters in 3
# layers and 145 in 7): the re-run costs about 2·parameters·layers forward passes of the judge.
MAX_CHECK_PARAMS = 2000
MAX_CHECK_LAYERS = 30
MAX_NAMES_SHOWN = 12  # layer names quoted in a message


class Exercise:
    """One exercise: the answer cell runs with numerical_gradient_check replaced by a recorder."""

    def __init__(self, cell: str, suffix: str, dims: list[int], loss: str, classes: int | None):
        self.cell, self.suffix, self.dims, self.loss, self.classes = cell, suffix, dims, loss, classes
        self.names = [f"{n}_{suffix}" for n in ("model", "loss", "X", "t", "passed")]

    def call_text(self) -> str:
        model, loss, x, t, _ = self.names
        return f"numerical_gradient_check({model}, {loss}, {x}, {t})"

    def run(self, student: PartSession) -> dict[str, Any]:
        """Execute the cell once per student session (the recorder keeps what every run recorded)."""
        runs = current().exercise_runs
        for session, result in runs:
            if session is student:
                return result
        result = student.run_exercise(self.cell, "numerical_gradient_check")
        runs[:] = [(student, result)]
        return result

    def setup(self, student: PartSession, need_call: bool = False) -> dict[str, Any]:
        """model, loss_fn, X, t, h of the last recorded call; without one, the variables of the table."""
        calls = self.run(student).get("calls") or []
        if calls:
            call = calls[-1]
            bound = dict(zip(CHECK_ARGS, call.get("args", [])))
            for k, v in (call.get("kwargs") or {}).items():
                bound.setdefault(k, v)
            missing = [k for k in CHECK_ARGS[:4] if k not in bound]
            if missing:
                raise AssertionError(say.call_lacks(self.call_text(), missing))
            bound.setdefault("h", 1e-5)
            bound["source"] = "call"
            return bound
        if need_call:
            raise AssertionError(say.not_called(self.call_text()))
        out = {"h": 1e-5, "source": "variables"}
        for key, name in zip(CHECK_ARGS, self.names):
            try:
                out[key] = student.var(name)
            except Missing:
                raise AssertionError(say.neither_call_nor_variable(self.call_text(), name)) from None
        return out

    # -- the four graded properties --
    def check_variables(self, student: PartSession) -> None:
        result = self.run(student)
        err = result.get("error_in_cell")
        if err:
            raise AssertionError(error_message(err, say.answer_cell(self.cell[-3:].replace("_", "."))))
        missing = []
        for name in self.names:
            try:
                student.var(name)
            except Missing:
                missing.append(name)
        if missing:
            raise AssertionError(say.undefined(missing))
        if not result.get("calls"):
            raise AssertionError(say.result_not_from_call(self.call_text(), self.names[4]))

    def layers(self, model: Any) -> list[tuple[str, dict[str, Any]]]:
        if not (isinstance(model, dict) and model.get("$obj") == "MLP" and isinstance(model.get("layers"), list)):
            kind = student_text(model.get("$obj") if isinstance(model, dict) else type(model).__name__, 60)
            raise AssertionError(say.not_mlp(self.names[0], kind, self.dims))
        out = []
        for layer in model["layers"]:
            try:
                params = dict(layer.get("params", {}).get("$dict", [])) if isinstance(layer, dict) else {}
            except (AttributeError, TypeError, ValueError):  # not the runner's description of a dict
                params = {}
            out.append((student_text(layer.get("$obj", "?"), 60) if isinstance(layer, dict) else "?", params))
        return out

    def check_architecture(self, student: PartSession) -> tuple[Layers, str]:
        layers = self.layers(self.setup(student)["model"])
        names = [n for n, _ in layers]
        acts = sorted({n for n in names[1::2]})
        shown = (
            names
            if len(names) <= MAX_NAMES_SHOWN
            else names[:MAX_NAMES_SHOWN] + [say.more_layers(len(names) - MAX_NAMES_SHOWN)]
        )
        expected_names = ["Linear" if i % 2 == 0 else (acts[0] if acts else "?") for i in range(2 * len(self.dims) - 3)]
        shapes = [shape_of(p.get("W")) for n, p in layers if n == "Linear"]
        want = [(self.dims[i], self.dims[i + 1]) for i in range(len(self.dims) - 1)]
        if shapes != want or names != expected_names:
            raise AssertionError(say.wrong_architecture(self.names[0], shown, clean_text(shapes, 300), self.dims, want))
        if len(acts) != 1 or acts[0] not in ACTIVATION_CLASSES:
            raise AssertionError(say.one_activation(self.names[0], clean_text(acts, 300)))
        b_shapes = [shape_of(p.get("b")) for n, p in layers if n == "Linear"]
        if b_shapes != [(d,) for _, d in want]:
            raise AssertionError(
                say.wrong_bias_shapes(self.names[0], clean_text(b_shapes, 300), [(d,) for _, d in want])
            )
        return layers, ACTIVATION_CLASSES[acts[0]]

    def check_loss_and_data(self, student: PartSession) -> None:
        s = self.setup(student)
        loss = s["loss_fn"].get("$obj") if isinstance(s["loss_fn"], dict) else type(s["loss_fn"]).__name__
        loss = student_text(loss, 60)
        if loss != self.loss:
            raise AssertionError(say.wrong_loss(self.names[1], loss, self.loss))
        X, t = s["X"], s["t"]
        if not (isinstance(X, np.ndarray) and X.dtype.kind in "iuf"):
            raise AssertionError(say.not_numeric_array(self.names[2]))
        if X.ndim != 2 or X.shape[1] != self.dims[0] or X.shape[0] < 2:
            raise AssertionError(say.wrong_x_shape(self.names[2], X.shape, self.dims[0]))
        if not np.all(np.isfinite(X)):
            raise AssertionError(say.not_finite_array(self.names[2]))
        n = X.shape[0]
        if not (isinstance(t, np.ndarray) and t.dtype.kind in "biuf"):
            raise AssertionError(say.not_numeric_array(self.names[3]))
        if self.classes is None:
            if t.shape != (n, self.dims[-1]):
                raise AssertionError(say.wrong_t_shape(self.names[3], t.shape, n, self.dims[-1], self.names[2]))
            if not np.all(np.isfinite(t)):
                raise AssertionError(say.not_finite_array(self.names[3]))
            return
        c = self.classes
        if t.shape == (n,):
            if t.dtype.kind not in "iu":
                raise AssertionError(say.labels_not_integer(self.names[3], t.dtype))
            if t.min() < 0 or t.max() >= c:
                raise AssertionError(say.labels_out_of_range(self.names[3], c - 1))
            return
        if t.shape == (n, c):
            if not (np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1)):
                raise AssertionError(say.not_onehot(self.names[3]))
            return
        raise AssertionError(say.wrong_labels_shape(self.names[3], t.shape, n, c))

    def check_gradient(self, student: PartSession, reference: Any) -> None:
        """The recorded setup, re-run in the judge with the REFERENCE classes, passes the notebook's check.

        The check runs on whatever the student set up (their layers' parameters, their X and t, their
        loss class, their h), so a wrong architecture or loss is charged by its own test only; it
        fails when the setup cannot be run or when the check itself would fail with correct layers
        (e.g. inputs on ReLU's kink)."""
        s = self.setup(student, need_call=True)
        layers = self.layers(s["model"])
        loss = s["loss_fn"].get("$obj") if isinstance(s["loss_fn"], dict) else type(s["loss_fn"]).__name__
        loss = student_text(loss, 60)
        if loss not in ("MSELoss", "SoftmaxCrossEntropy"):
            raise AssertionError(say.loss_cannot_recheck(self.names[1], loss, self.loss))
        self.check_size(layers)
        self.check_shapes(layers, s["X"], s["t"])
        h = s["h"]
        h = np.asarray(h) if isinstance(h, (int, float, np.ndarray)) and not isinstance(h, bool) else None
        if h is None or h.size != 1 or h.dtype.kind not in "iuf" or not 0 < float(h) < 1:
            raise AssertionError(say.BAD_STEP)

        def run() -> list[tuple[int, str, float]]:
            return reference_gradient_check(reference, layers, loss, s["X"], s["t"], float(h))

        arrays = [s["X"], s["t"], *(v for _, p in layers for _, v in sorted(p.items()))]
        if all(isinstance(a, np.ndarray) for a in arrays):  # the same setup is checked once
            key = ("exercise", loss, float(h), tuple(name for name, _ in layers), array_digest(*arrays))
            errors = [(int(k), str(name), float(err)) for k, name, err in cached(key, reference, run)]
        else:
            errors = run()
        bad = [(k, name, err) for k, name, err in errors if not err <= NOTEBOOK_CHECK_TOL]
        if bad:
            k, name, err = max(bad, key=lambda e: e[2] if np.isfinite(e[2]) else np.inf)
            x, t = self.names[2], self.names[3]
            raise AssertionError(say.recheck_failed(x, t, len(bad), k + 1, name, err, NOTEBOOK_CHECK_TOL))

    def check_shapes(self, layers: Layers, X: Any, t: Any) -> None:
        """Every array the re-run uses has the shape the task states, checked before any is used:
        NumPy broadcasts whatever it is given, and t_82 of shape (M, 1, 1) against outputs (N, 1)
        made (M, N, 1) arrays all through the re-run (2.5 GiB of the judge's memory at M = 65,536).
        Widths come from the student's own layers, so a wrong architecture is charged by its own
        test only; for the architecture the task asks for they are the task's."""
        d_in: int | None = None
        width: int | None = None  # the previous Linear's output
        for k, p in enumerate([p for n, p in layers if n == "Linear"]):
            W, b = p.get("W"), p.get("b")
            where = say.nth_linear(self.names[0], k + 1)
            if not (isinstance(W, np.ndarray) and W.ndim == 2 and (width is None or W.shape[0] == width)):
                raise AssertionError(say.recheck_w_shape(where, clean_text(shape_of(W), 80), width))
            if not (isinstance(b, np.ndarray) and b.shape == (W.shape[1],)):
                raise AssertionError(say.recheck_b_shape(where, clean_text(shape_of(b), 80), W.shape[1]))
            d_in = W.shape[0] if d_in is None else d_in
            width = W.shape[1]
        if width is None or d_in is None:
            raise AssertionError(say.no_linear(self.names[0]))
        d_out = width
        if not (isinstance(X, np.ndarray) and X.dtype.kind in "iuf" and X.ndim == 2 and X.shape[0] >= 2):
            x_shape = clean_text(shape_of(X) if isinstance(X, np.ndarray) else type(X).__name__, 80)
            raise AssertionError(say.recheck_x_numeric(self.names[2], x_shape, d_in))
        n = X.shape[0]
        if X.shape[1] != d_in:
            raise AssertionError(say.recheck_x_width(self.names[2], X.shape, n, d_in))
        t_shape = shape_of(t) if isinstance(t, np.ndarray) else None
        if self.classes is None:
            ok = t_shape == (n, d_out) and t.dtype.kind in "biuf"
        else:
            ok = (t_shape == (n,) and t.dtype.kind in "iu") or (t_shape == (n, d_out) and t.dtype.kind in "biuf")
        if not ok:
            shown = clean_text(t_shape if t_shape is not None else type(t).__name__, 80)
            want = say.recheck_t_want(n, d_out, self.classes is not None)
            raise AssertionError(say.recheck_t_shape(self.names[3], shown, want, self.names[2]))

    def check_size(self, layers: list[tuple[str, dict[str, Any]]]) -> None:
        """The judge re-runs a check only on a setup of the size the exercise asks for (give or take):
        its cost grows with parameters × layers, and the student chooses both."""
        n_params = sum(int(np.size(v)) for _, p in layers for v in p.values() if isinstance(v, np.ndarray))
        if len(layers) > MAX_CHECK_LAYERS or n_params > MAX_CHECK_PARAMS:
            want = sum((self.dims[i] + 1) * self.dims[i + 1] for i in range(len(self.dims) - 1))
            raise AssertionError(
                say.too_big_to_recheck(
                    self.names[0], len(layers), n_params, MAX_CHECK_LAYERS, MAX_CHECK_PARAMS, self.dims, want
                )
            )


class ExerciseSuite:
    """The four graded properties of an exercise, as pytest tests; a module subclasses it and
    declares its `exercise`."""

    exercise: Exercise

    def test_variables_defined(self, student: PartSession) -> None:
        self.exercise.check_variables(student)

    def test_model_architecture(self, student: PartSession) -> None:
        self.exercise.check_architecture(student)

    def test_loss_and_data(self, student: PartSession) -> None:
        self.exercise.check_loss_and_data(student)

    def test_gradient_check_passes(self, student: PartSession, reference: Any) -> None:
        self.exercise.check_gradient(student, reference)
