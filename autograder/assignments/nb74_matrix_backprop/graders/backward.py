"""Grading one class's backward (Linear, the activations, the losses) against the reference.

Expected values are central differences of the REFERENCE forward on the grader's hidden inputs
(never the student's forward, never the student's backward of another part). Every check reads
the student's results from two memoised rounds per case: `round` (forward, backward) serves the
shape and value tests; `property_round` (forward, backward, a second forward, backward, backward
again) the latest-cache, repeat, dout-untouched and analytic tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.graders.cache import Case, memo
from autograder.graders.calls import MISSING, Backward, Future, Remote, Round
from autograder.graders.numerics import ANALYTIC_TOL, EXACT_TOL, FD_TOL, REPEAT_FACTOR
from autograder.sandbox.errors import StudentError
from autograder.sandbox.part_session import PartSession
from autograder.sandbox.received import student_text
from autograder.sandbox.values import as_float_array, too_big

from ..public.diagnosis import diagnose, in_float32
from ..public.findings import Finding
from . import messages as say
from .backward_part import BackwardPart
from .checks import Explain, Hint, Mismatch, assert_forward, assert_gradient, assert_shape


def as_result(raw: Any, what: str, require_ndarray: bool = False, quantity: str = "") -> np.ndarray:
    """A described value from the student as a float64 array, or a Japanese AssertionError."""
    if raw is MISSING:
        raise AssertionError(say.missing(what))
    if raw is None:
        raise AssertionError(say.is_none(what))
    if require_ndarray and not isinstance(raw, np.ndarray) and too_big(raw) is None:
        kind = student_text(raw["$obj"] if isinstance(raw, dict) and "$obj" in raw else type(raw).__name__, 60)
        text = say.not_ndarray(what, kind)
        raise Mismatch(text, [Finding("not_ndarray", quantity or what, text)])
    try:
        return as_float_array(raw, what)
    except StudentError as exc:
        raise AssertionError(str(exc)) from None


@dataclass
class PropertyRound:
    """The three backward calls of a property round, each its own Future.

    first: after forward(x), for the dout-untouched and analytic checks; latest: after a backward
    and a new forward(x2), for the latest-cache check; repeat: a second backward after that same
    forward, with dout × REPEAT_FACTOR, for the repeat check. latest fails too if forward(x2) did."""

    first: Future[Backward]
    latest: Future[Backward]
    repeat: Future[Backward]


class BackwardGrader(BackwardPart):
    """Grades one class's backward (see BackwardPart for what a case holds)."""

    # -- the student's rounds --
    def new(self, r: Round, case: Case) -> Remote:
        """The student's object, with the case's parameters."""
        shape = case["W"].shape if self.params else ()
        return r.new(self.class_name, *shape, params={k: case[k] for k in self.params})

    def forward(self, obj: Remote, case: Case, second: bool = False) -> Future[np.ndarray]:
        inputs = self.forward_inputs(case, second)
        return obj.loss(*inputs) if self.loss else obj.forward(*inputs)

    def backward(self, obj: Remote, case: Case, scale: float = 1.0) -> Future[Backward]:
        """backward(scale · dout) (a loss's backward() takes no argument), reading the grads after it."""
        args = () if self.loss else (case["dout"] * scale,)
        return obj.backward(*args, grads=self.params)

    def round(self, student: PartSession, case: Case) -> tuple[np.ndarray, Backward]:
        """forward, backward (memoised per case: one call serves the shape and value tests)."""

        def run() -> tuple[np.ndarray, Backward]:
            with Round(student) as r:
                obj = self.new(r, case)
                out, call = self.forward(obj, case), self.backward(obj, case)
            return out.value(), call.value()

        return memo(student, (self.class_name, "round", case["key"]), run)

    def property_round(self, student: PartSession, case: Case) -> PropertyRound:
        """forward(x); backward; forward(x2); backward; backward(REPEAT_FACTOR · dout), one round.

        A failing call costs only the tests that need it or a later one (see PropertyRound)."""

        def run() -> PropertyRound:
            with Round(student) as r:
                obj = self.new(r, case)
                out = self.forward(obj, case)
                first = self.backward(obj, case)
                self.forward(obj, case, second=True)
                latest = self.backward(obj, case)
                repeat = self.backward(obj, case, REPEAT_FACTOR)
            out.value()
            return PropertyRound(first, latest, repeat)

        return memo(student, (self.class_name, "property", case["key"]), run)

    def results(self, call: Backward, require_ndarray: bool = False) -> dict[str, np.ndarray]:
        result = as_result(call.result, self.name(self.result_name), require_ndarray, self.result_name)
        out = {self.result_name: result}
        for k in self.params:
            if call.grads[k] is MISSING or call.grads[k] is None:
                text = say.grad_not_assigned(self.name(k), k, call.grads[k] is MISSING)
                raise Mismatch(text, [Finding("missing_grad", self.quantity(k), text)])
            out[k] = as_result(call.grads[k], self.name(k), require_ndarray, self.quantity(k))
        return out

    def explain(self, reference: Any, case: Case, key: str) -> Explain:
        """The diagnosis of a wrong gradient `key` on this case, against the reference's analytic
        gradient (exact to rounding, where central differences leave ~1e-9 relative, more than a
        hypothesis may miss by: FIT_TOL), computed only when a check fails."""
        mistakes = self.mistakes

        def run(got: np.ndarray) -> list[Finding]:
            alternatives = mistakes.alternatives(case).get(key, [])
            formula = mistakes.formulas.get(key, "")
            expected = self.analytic_expected(reference, case)[key]
            return diagnose(self.quantity(key), got, expected, mistakes.dims(case), formula, alternatives)

        return run

    def input_shapes(self, case: Case) -> dict[str, tuple[int, ...]]:
        shapes = {self.result_name: np.shape(case["y" if self.loss else "x"])}
        shapes.update({k: np.shape(case[k]) for k in self.params})
        return shapes

    # -- the graded properties --
    def check_shapes(
        self, student: PartSession, reference: Any, cases: list[Case], label: Callable[[Case], str]
    ) -> None:
        for case in cases:
            _, call = self.round(student, case)
            got = self.results(call, require_ndarray=True)
            for key, shape in self.input_shapes(case).items():
                what = say.same_shape_as(self.name(key), None if key == self.result_name else key, label(case))
                assert_shape(what, got[key], shape, self.explain(reference, case, key))

    def check_values(
        self,
        student: PartSession,
        reference: Any,
        cases: list[Case],
        label: Callable[[Case], str],
        expected: Callable[[Case], dict[str, np.ndarray]] | None = None,
        tol: float = FD_TOL,
    ) -> None:
        for case in cases:
            out, call = self.round(student, case)
            what = say.forward_output(self.class_name, self.loss, label(case))
            assert_forward(what, out, self.reference_forward(reference, case))
            got = self.results(call)
            exp = expected(case) if expected else self.expected(reference, case)
            hints = (
                []
                if self.loss or self.params or self.mistakes.formulas  # a known class: diagnosed instead
                else [Hint(case["dout"], say.RETURNS_DOUT, "wrong_derivative")]
            )
            for key in exp:
                explain = self.explain(reference, case, key)
                what, quantity = f"{self.name(key)}{label(case)}", self.quantity(key)
                assert_gradient(what, got[key], exp[key], tol=tol, hints=hints, explain=explain, quantity=quantity)

    def check_latest_cache(self, student: PartSession, reference: Any, case: Case) -> None:
        """forward(x), backward, forward(x2), backward: the gradients at x2. The stale and
        accumulated answers are named only when the first backward was right: otherwise a wrong
        formula can coincide with them (ReLU's inverted mask at x2 = −x is the stale mask)."""
        got = self.results(self.property_round(student, case).latest.value())
        stale = self.expected(reference, case)
        first_right = self.first_call_right(student, reference, case)
        for key, exp in self.expected(reference, case, second=True).items():
            hints = [] if not first_right else [Hint(stale[key], say.STALE_CACHE, "stale_cache")]
            if key in self.params and first_right:
                hints.insert(0, Hint(stale[key] + exp, say.SUM_OF_BOTH, "accumulates"))
            assert_gradient(
                say.after_new_input(self.name(key), exp.shape),
                got[key],
                exp,
                hints=hints,
                quantity=self.quantity(key),
            )

    def check_first_call(self, student: PartSession, reference: Any, case: Case) -> None:
        """The precondition of the property tests (repeat, dout untouched, analytic): the first
        backward of the property round returns the right gradient, so that a backward that does
        nothing useful (return dout, return 0, …) earns no property points."""
        got = self.results(self.property_round(student, case).first.value())
        for key, exp in self.expected(reference, case).items():
            try:
                assert_gradient(say.with_shape(self.name(key), exp.shape), got[key], exp)
            except AssertionError as exc:
                raise AssertionError(say.graded_once_right(str(exc))) from None

    def first_call_right(self, student: PartSession, reference: Any, case: Case) -> bool:
        try:
            self.check_first_call(student, reference, case)
        except AssertionError:
            return False
        return True

    def check_repeat(self, student: PartSession, reference: Any, case: Case) -> None:
        """Two backward calls after the same forward: the second is REPEAT_FACTOR (losses: 1) times
        the first (pass/fail needs no expected value; the reference names an accumulation)."""
        self.check_first_call(student, reference, case)
        g1 = self.results(self.property_round(student, case).latest.value())
        g2 = self.results(self.property_round(student, case).repeat.value())
        c = 1.0 if self.loss else REPEAT_FACTOR
        exp = self.expected(reference, case, second=True) if self.params else {}
        for key in g1:
            what = say.second_backward(self.name(key), self.loss, c)
            hints = [Hint(g1[key], say.STILL_FIRST, "stale_cache")] if c != 1 else []
            if key in self.params:
                accumulated = say.ACCUMULATES
                hints.insert(0, Hint((1 + c) * g1[key], accumulated, "accumulates"))
                if key in exp and g1[key].shape == exp[key].shape:
                    hints.insert(0, Hint(g1[key] + c * exp[key], accumulated, "accumulates"))
            try:
                assert_gradient(what, g2[key], c * g1[key], tol=EXACT_TOL, hints=hints, quantity=self.quantity(key))
            except Mismatch as exc:
                if exc.findings:
                    raise
                if g2[key].shape == g1[key].shape and in_float32(g2[key], c * g1[key]):
                    why = say.REPEAT_IN_FLOAT32
                    raise Mismatch(f"{exc}。{why}", [Finding("precision", self.quantity(key), why)]) from None
                raise self.repeat_mismatch(key, str(exc)) from None

    def repeat_mismatch(self, key: str, failed: str) -> Mismatch:
        """The second backward after one forward differs, and no known wrong answer matches. The first
        backward after each forward was right, so backward changed the layer's state: its cache
        (an activation or a loss has no other), or for Linear its cache or its grads (not sure which)."""
        if key in self.params:
            why = say.reuses_grads(key)
            return Mismatch(f"{failed}。{say.check_that(why)}", [Finding("unknown", self.quantity(key), why)])
        why = say.check_that(say.LOSS_MUTATES_CACHE if self.loss else say.MUTATES_CACHE)
        return Mismatch(f"{failed}。{why}", [Finding("mutates_cache", self.quantity(key), why)])

    def check_dout_untouched(self, student: PartSession, reference: Any, case: Case) -> None:
        """The dout the student process sends back after the first backward equals, on the judge's
        side, the dout sent (the runner's own comparison counts too, but only against the student)."""
        self.check_first_call(student, reference, case)
        first = self.property_round(student, case).first.value()
        after = first.args_after[0] if first.args_after else None
        sent = case["dout"] * 1.0  # what the first backward was sent
        kept = (
            isinstance(after, np.ndarray)
            and after.shape == sent.shape
            and after.dtype.kind in "biuf"
            and np.array_equal(after, sent, equal_nan=True)
        )
        if any(first.args_changed) or not kept:
            text = say.mutates_dout(self.class_name)
            raise Mismatch(text, [Finding("mutates_dout", "dout", text)])

    def check_analytic(self, student: PartSession, reference: Any, case: Case) -> None:
        """Judged here: the first backward equals the reference's analytic backward to rounding
        (ANALYTIC_TOL), which a backward by differences does not. The runner's count of forward
        calls during backward counts too (it can only cost the student)."""
        self.check_first_call(student, reference, case)
        first = self.property_round(student, case).first.value()
        if first.forward_calls:
            text = say.forward_in_backward(self.class_name, first.forward_calls)
            raise Mismatch(text, [Finding("numerical", self.result_name, text)])
        got = self.results(first)
        for key, exp in self.analytic_expected(reference, case).items():
            try:
                assert_gradient(say.with_shape(self.name(key), exp.shape), got[key], exp, tol=ANALYTIC_TOL)
            except AssertionError as exc:
                if got[key].shape == exp.shape and in_float32(got[key], exp):
                    why = say.IN_FLOAT32
                    finding = Finding("precision", self.quantity(key), why)
                else:
                    why = say.NUMERICAL
                    finding = Finding("numerical", self.quantity(key), why)
                raise Mismatch(f"{exc}。{why}", [finding]) from None
