"""The numbers behind the feedback's pictures: a failing part's gradients on the VISIBLE test's inputs.

The inputs are never drawn here: the visible part of the part's test cell (given code, public) is
run in the judge's process with the reference classes wrapped so that they record the first
forward and backward of the check — the exact arrays the student's visible test uses. The
student's class then gets the same calls in its sandboxed process (one round trip), and the
reference's gradients are the expected ones. Nothing hidden goes in, so the pictures may show
every value. The feedback draws them (the assignment's public/heatmaps.py); the results carry the numbers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from ..course.assignment import GIVEN_PREFIX, Assignment
from ..graders.calls import Round
from ..results import Picture
from ..sandbox.part_session import PartSession
from ..sandbox.values import as_float_array

MAX_SIDE = 16  # the visible tests' arrays are small; anything larger is not drawn


@dataclass(frozen=True)
class PublicCase:
    """The first forward and backward of a visible test: constructor args, params, inputs, dout."""

    class_name: str
    args: tuple[int, ...]
    params: dict[str, np.ndarray]
    inputs: tuple[np.ndarray, ...]  # x, or (y, t) for a loss
    douts: tuple[np.ndarray, ...]  # (dout,), or () for a loss


@cache
def reference(assignment: Assignment) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{assignment.name}_reference_pictures", assignment.reference())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recording(cls: type, seen: list[PublicCase]) -> type:
    """cls, recording its first backward call: the params, the inputs of the forward before it, the dout."""

    class Recorded(cls):  # type: ignore[misc]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self._args = tuple(int(a) for a in args)

        def forward(self, *inputs: Any) -> Any:
            self._inputs = tuple(np.array(v) for v in inputs)
            return super().forward(*inputs)

        def backward(self, *douts: Any) -> Any:
            if not seen:
                params = {k: np.array(v) for k, v in getattr(self, "params", {}).items()}
                seen.append(
                    PublicCase(cls.__name__, self._args, params, self._inputs, tuple(np.array(d) for d in douts))
                )
            return super().backward(*douts)

    Recorded.__name__ = Recorded.__qualname__ = cls.__name__
    return Recorded


@cache
def public_case(assignment: Assignment, class_name: str, test_source: str) -> PublicCase | None:
    """The first check of the visible test (the test cell's source: the source notebook holds no
    hidden tests, tools/build.py refuses them; the hidden tests are the assignment's graders/)."""
    ref = reference(assignment)
    seen: list[PublicCase] = []
    ns = dict(vars(ref))
    ns[class_name] = recording(getattr(ref, class_name), seen)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(test_source, "visible test", "exec"), ns)  # trusted: the kit's own source notebook
    except Exception:  # the reference passes its visible tests (tests/test_source_notebook.py)
        return None
    return seen[0] if seen else None


def reference_gradients(assignment: Assignment, case: PublicCase, grads: tuple[str, ...]) -> dict[str, np.ndarray]:
    obj = getattr(reference(assignment), case.class_name)(*case.args)
    for k, v in case.params.items():
        obj.params[k] = v.copy()
    obj.forward(*(v.copy() for v in case.inputs))
    out = {"result": np.asarray(obj.backward(*(d.copy() for d in case.douts)), dtype=np.float64)}
    return out | {k: np.asarray(obj.grads[k], dtype=np.float64) for k in grads}


def student_gradients(session: PartSession, case: PublicCase, grads: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The student's class on the same calls; a value that is no small array is left out."""
    with Round(session) as r:
        obj = r.new(case.class_name, *case.args, params=case.params or None)
        (obj.loss if case.douts == () else obj.forward)(*case.inputs)
        call = obj.backward(*case.douts, grads=grads)
    got = call.value()
    raw = {"result": got.result} | {k: got.grads.get(k) for k in grads}
    out = {}
    for key, value in raw.items():
        try:
            array = as_float_array(value, key)
        except Exception:  # not an array: the tests' messages say so; nothing to draw
            continue
        if array.ndim <= 2 and all(0 < n <= MAX_SIDE for n in array.shape):
            out[key] = array
    return out


def pictures(session_of: Any, assignment: Assignment, parts: list[str], test_sources: dict[str, str]) -> list[Picture]:
    """The pictures of the given failing backward parts (session_of(): a fresh PartSession)."""
    out: list[Picture] = []
    for name in parts:
        part = assignment.rubric.parts[name]
        case = public_case(assignment, part.class_name, test_sources.get(part.test_cell, ""))
        if case is None:
            continue
        grads = tuple(case.params)
        result = "dx" if case.douts else ("dL/dx" if part.class_name == "SoftmaxCrossEntropy" else "dL/dy")
        session = session_of()
        try:
            got = student_gradients(session, case, grads)
        except Exception:  # the student's call failed: the tests already say how
            continue
        finally:
            session.close()
        expected = reference_gradients(assignment, case, grads)
        for key, exp in expected.items():
            quantity = result if key == "result" else f"d{key}"
            if key in got and (got[key].shape != exp.shape or not np.allclose(got[key], exp, rtol=1e-5, atol=1e-8)):
                out.append(Picture(name, quantity, got[key].tolist(), exp.tolist()))
    return out


def graded_cell_sources(cells: list[dict[str, Any]]) -> dict[str, str]:
    """grade_id -> source of the source notebook's test cells (not the given ones)."""
    out = {}
    for cell in cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if cell.get("cell_type") == "code" and gid and not gid.startswith(GIVEN_PREFIX):
            src = cell.get("source", "")
            out[gid] = "".join(src) if isinstance(src, list) else src
    return out
