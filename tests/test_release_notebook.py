"""The student's release notebook, untouched: what a student sees before writing any code.

Given code and forward-only cells run; each answer cell still defines its class; every visible test
of a backward part fails fast with a Japanese AssertionError naming the unimplemented method.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from autograder.assignment import GIVEN_PREFIX, load_rubric, release_notebook

RUBRIC = load_rubric()
BACKWARD_PARTS = [p for p in RUBRIC.parts.values() if p.kind == "backward"]
EXERCISES = [p for p in RUBRIC.parts.values() if p.kind == "exercise"]
ANSWER_IDS = {p.answer_cell for p in RUBRIC.parts.values() if p.answer_cell}
CLASS_CELLS = {p.answer_cell for p in BACKWARD_PARTS}  # only backward is a stub: these must run
EXERCISE_CELLS = {p.answer_cell for p in EXERCISES} | {p.test_cell for p in EXERCISES}
# The method each visible backward test must name. MLP.backward walks the layers in reverse, so
# with every stub in place the first one it hits is the output layer, a Linear.
EXPECTED_METHOD = {p.test_cell: p.title for p in BACKWARD_PARTS} | {"test_mlp": "Linear.backward"}
# Ungraded cells that need a student's backward (demos, the 6.2 run, the 7.1 gradient check).
STUB_CALL = re.compile(r"\.backward\(|numerical_gradient_check\(")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
NOT_IMPLEMENTED = "まだ実装されていません"
CELL_TIME_LIMIT = 0.5  # seconds; a stub must fail at once, not after a long numerical gradient

# Appended to the executed notebook (in memory only): each class exists, its forward works, and
# its stub raises NotImplementedError when called directly.
PROBE = """
import json as _json
def _status(name, init_args, forward_args, backward_args):
    if name not in globals():
        return 'undefined'
    obj = globals()[name](*init_args)
    obj.forward(*forward_args)
    try:
        obj.backward(*backward_args)
    except NotImplementedError:
        return 'NotImplementedError'
    except Exception as e:
        return type(e).__name__
    return 'returned'
_a = np.ones((2, 3))
print('PROBE ' + _json.dumps({
    'Linear': _status('Linear', (3, 3), (_a,), (_a,)),
    'Sigmoid': _status('Sigmoid', (), (_a,), (_a,)),
    'ReLU': _status('ReLU', (), (_a,), (_a,)),
    'Tanh': _status('Tanh', (), (_a,), (_a,)),
    'MSELoss': _status('MSELoss', (), (_a, 0 * _a), ()),
    'SoftmaxCrossEntropy': _status('SoftmaxCrossEntropy', (), (_a, np.array([0, 2])), ()),
}))
"""


def grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def errors(cell) -> list:
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def seconds(cell) -> float:
    """Wall time of a cell from nbclient's timing metadata (first to last recorded event)."""
    stamps = [datetime.fromisoformat(v.replace("Z", "+00:00")) for v in cell.metadata["execution"].values()]
    return (max(stamps) - min(stamps)).total_seconds()


def stub_dependent(cell) -> bool:
    """Needs a student's code: backward tests, exercise cells, ungraded cells calling a backward."""
    gid = grade_id(cell)
    if gid.startswith(GIVEN_PREFIX) or gid in CLASS_CELLS:
        return False
    return gid in EXPECTED_METHOD or gid in EXERCISE_CELLS or bool(STUB_CALL.search(cell.source))


@pytest.fixture(scope="module")
def executed(execute_notebook, repo_root):
    nb = execute_notebook(release_notebook(repo_root), allow_errors=True, extra_cells=[PROBE])
    probe = nb.cells.pop()
    return nb, probe


@pytest.fixture(scope="module")
def cells(executed) -> list:
    return [c for c in executed[0].cells if c.cell_type == "code"]


@pytest.fixture(scope="module")
def by_id(cells) -> dict:
    return {grade_id(c): c for c in cells if grade_id(c)}


def test_release_has_stubs_and_no_solutions(by_id):
    for gid in ANSWER_IDS:
        assert "raise NotImplementedError()" in by_id[gid].source, f"{gid} has no stub"
        assert "BEGIN SOLUTION" not in by_id[gid].source
    assert not any("BEGIN HIDDEN TESTS" in c.source for c in by_id.values())


def test_cells_not_needing_a_stub_run_without_error(cells):
    # given code, answer cells of the classes (only backward is a stub), forward-only demos, the plot
    bad = [
        f"{i} {grade_id(c)}: {[(e.ename, e.evalue) for e in errors(c)]}"
        for i, c in enumerate(cells)
        if not stub_dependent(c) and errors(c)
    ]
    assert not bad, f"cells that need no student code failed: {bad}"
    first = next(i for i, c in enumerate(cells) if stub_dependent(c))
    assert first > 0 and all(c.get("execution_count") for c in cells[:first]), "cells before the first stub"
    given = [c for c in cells if grade_id(c).startswith(GIVEN_PREFIX)]
    assert given and all(c.get("execution_count") and not errors(c) for c in given)


def test_no_stderr_output(cells):
    # failures show as error outputs (tracebacks); nothing may warn on stderr (plot, forward demos)
    stderr = [
        (i, o.text)
        for i, c in enumerate(cells)
        for o in c.get("outputs", [])
        if o.output_type == "stream" and o.name == "stderr"
    ]
    assert not stderr, stderr


def test_cells_needing_a_stub_fail_for_that_reason(cells):
    # every stub-dependent cell fails, and not because of something else (NameError, TypeError, ...)
    for i, c in enumerate(cells):
        if not stub_dependent(c):
            continue
        errs = errors(c)
        assert errs, f"cell {i} ({grade_id(c)}) should fail while the stubs are in place"
        is_test = grade_id(c) in EXPECTED_METHOD or grade_id(c) in {p.test_cell for p in EXERCISES}
        expected = "AssertionError" if is_test else "NotImplementedError"
        assert errs[0].ename == expected, (i, grade_id(c), errs[0].ename, errs[0].evalue)


def test_answer_cells_define_their_classes(executed, by_id):
    probe = executed[1]
    out = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
    assert not errors(probe), errors(probe)
    result = json.loads(out.split("PROBE ", 1)[1])
    for p in BACKWARD_PARTS:
        assert not errors(by_id[p.answer_cell]), f"answer cell {p.answer_cell} failed"
        cls = p.title.split(".")[0]
        # defined, forward works, and calling the stub directly raises NotImplementedError
        assert result[cls] == "NotImplementedError", f"{cls}: {result[cls]}"


@pytest.mark.parametrize("test_cell", list(EXPECTED_METHOD))
def test_visible_backward_test_names_the_unimplemented_method(by_id, test_cell):
    errs = errors(by_id[test_cell])
    assert len(errs) == 1, f"{test_cell}: {errs}"
    err = errs[0]
    assert err.ename == "AssertionError", f"{test_cell}: {err.ename}: {err.evalue}"
    assert EXPECTED_METHOD[test_cell] in err.evalue, err.evalue
    assert NOT_IMPLEMENTED in err.evalue and "raise NotImplementedError()" in err.evalue, err.evalue
    assert JAPANESE.search(err.evalue), err.evalue


@pytest.mark.parametrize("part", EXERCISES, ids=lambda p: p.name)
def test_exercise_test_cell_fails_with_a_clear_message(by_id, part):
    assert errors(by_id[part.answer_cell])[0].ename == "NotImplementedError"
    errs = errors(by_id[part.test_cell])
    assert len(errs) == 1 and errs[0].ename == "AssertionError", errs
    variable = f"model_{part.section.replace('.', '')}"  # section 8.1 -> model_81
    assert variable in errs[0].evalue and "がありません" in errs[0].evalue, errs[0].evalue


def test_visible_test_cells_fail_fast(by_id):
    timings = {p.test_cell: seconds(by_id[p.test_cell]) for p in RUBRIC.parts.values()}
    print("\nvisible test cell wall time (release, stubs in place):")
    for gid, t in timings.items():
        print(f"  {gid:<20} {t * 1000:7.1f} ms")
    slow = {gid: t for gid, t in timings.items() if t >= CELL_TIME_LIMIT}
    assert not slow, f"test cells taking {CELL_TIME_LIMIT} s or more: {slow}"
