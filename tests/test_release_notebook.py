"""The student's release notebook, untouched: what a student sees before writing any code.

Given code and forward-only cells run; each answer cell still defines its class; Run All reaches
every visible test (the cells that need a stub carry the `raises-exception` tag, and nbclient runs
on past them as JupyterLab 4 does); every visible test of a backward part fails fast with a short
Japanese VisibleTestFailed naming the unimplemented method, and every other cell that calls a stub
shows one Japanese line naming it (the given cell's IPython handler), no traceback.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

import nbformat
import numpy as np
import pytest

from autograder.course.assignment import GIVEN_PREFIX, ROOT
from tests.nb74 import NB74

RUBRIC = NB74.rubric
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
FAILED = "VisibleTestFailed"  # the visible checks' exception (an AssertionError)
MAX_LINES = 8  # what a failing visible test may show
ANSI = re.compile(r"\x1b\[[0-9;]*m")
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


def shown(err) -> str:
    """An error output as the front end shows it (its traceback lines, colour codes removed)."""
    return ANSI.sub("", "\n".join(err.traceback))


@pytest.fixture(scope="module")
def executed(execute_notebook, repo_root):
    # allow_errors=False: Run All must go on past every failing cell by its raises-exception tag
    nb = execute_notebook(NB74.release(repo_root), allow_errors=False, extra_cells=[PROBE])
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
        expected = FAILED if is_test else "NotImplementedError"
        assert errs[0].ename == expected, (i, grade_id(c), errs[0].ename, errs[0].evalue)
        assert "raises-exception" in c.metadata.get("tags", []), (i, grade_id(c))
        if not is_test:  # one Japanese line naming what to implement, no traceback
            text = shown(errs[0])
            assert "\n" not in text and NOT_IMPLEMENTED in text and "raise NotImplementedError()" in text, text
            if grade_id(c) not in EXERCISE_CELLS:
                assert re.search(r"\w+\.backward はまだ実装されていません", text), text


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
    assert err.ename == FAILED, f"{test_cell}: {err.ename}: {err.evalue}"
    assert EXPECTED_METHOD[test_cell] in err.evalue, err.evalue
    assert NOT_IMPLEMENTED in err.evalue and "raise NotImplementedError()" in err.evalue, err.evalue
    assert JAPANESE.search(err.evalue), err.evalue
    text = shown(err)
    assert text.count("\n") + 1 <= MAX_LINES and "Traceback" not in text and "nb74" not in text, text
    # the pass line is printed by the check itself, only when it passes: no test source shows one
    assert "合格しました" not in by_id[test_cell].source


@pytest.mark.parametrize("part", EXERCISES, ids=lambda p: p.name)
def test_exercise_test_cell_fails_with_a_clear_message(by_id, part):
    assert errors(by_id[part.answer_cell])[0].ename == "NotImplementedError"
    errs = errors(by_id[part.test_cell])
    assert len(errs) == 1 and errs[0].ename == FAILED, errs
    variable = f"model_{part.section.replace('.', '')}"  # section 8.1 -> model_81
    # the answer cell raised: the test says so (and with which exception), not only "variable missing"
    message = errs[0].evalue
    assert variable in message and "NotImplementedError で止まったため" in message, message
    assert f"演習 {part.section} の解答欄のセル" in message and "作られていません" in message, message
    assert "raise NotImplementedError() を消して" in message, message


def test_visible_test_cells_fail_fast(by_id):
    timings = {p.test_cell: seconds(by_id[p.test_cell]) for p in RUBRIC.parts.values()}
    print("\nvisible test cell wall time (release, stubs in place):")
    for gid, t in timings.items():
        print(f"  {gid:<20} {t * 1000:7.1f} ms")
    slow = {gid: t for gid, t in timings.items() if t >= CELL_TIME_LIMIT}
    assert not slow, f"test cells taking {CELL_TIME_LIMIT} s or more: {slow}"


# --- what the student reads is right (issue 11, item 4): text of the release, and its given checks run
# in-process (the release's given cells with the source's solved classes) on known-wrong classes ---

GRADERS = NB74.graders_dir
ENGINE_GRADERS = ROOT / "autograder" / "graders"
# The graders' wording of the backward rules (the assignment's graders/backward.py), which the visible checks repeat.
DOUT_MODIFIED = "backward が引数 dout をその場で書き換えています"
SUMMED = "1 回目と 2 回目の勾配の和になっています。grads には += で足し込まず、代入してください"
STALE = "1 回目の forward（または 1 回目の backward）のときの値を使っています"
LATEST = "forward → backward → 別の入力で forward → backward としたときの"
REPEATED = "同じ forward の後に backward を 2 回呼んだときの 2 回目の"


@pytest.fixture(scope="module")
def release_nb():
    return nbformat.read(NB74.release(), as_version=4)


def markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def cell_of(nb, gid: str):
    return next(c for c in nb.cells if grade_id(c) == gid)


def release_namespace() -> dict:
    """The release's given cells and the source's solved classes, executed in order in one namespace."""
    release, source = (nbformat.read(p, as_version=4) for p in (NB74.release(), NB74.source()))
    given = {grade_id(c): c.source for c in release.cells if grade_id(c).startswith(GIVEN_PREFIX)}
    ns: dict = {}
    for cell in source.cells:
        gid = grade_id(cell)
        code = given.get(gid) or (cell.source if gid in CLASS_CELLS else None)
        if code is not None:
            exec(compile(code, gid, "exec"), ns)
    return ns


@pytest.fixture
def ns() -> dict:
    return release_namespace()


def failure(check, *args) -> str:
    with pytest.raises(AssertionError) as info:
        check(*args)
    assert type(info.value).__name__ == FAILED, info.value  # the checks' own, never a crash in them
    return str(info.value)


def test_softmax_docstring_and_comments_use_the_batch_mean(release_nb):
    src = cell_of(release_nb, "softmax_ce").source
    assert "-(1/N) Σ_n Σ_c t_nc * log(p_nc)" in src and "dL/dx = (p - t) / N" in src, src
    for line in src.splitlines():  # no line states the sum or p - t without the 1/N
        if "dL/dx" in line:
            assert "/ N" in line, line
        if "log(p" in line and "Σ" in line:
            assert "1/N" in line, line


def test_one_tolerance_is_stated(release_nb):
    text = markdown(release_nb)
    section_7_1 = text.split("### 7.1", 1)[1].split("## 8.", 1)[0]
    assert "相対誤差が $10^{-5}$ 以下なら合格" in section_7_1 and "GRAD_TOL = 1e-5" in section_7_1
    assert "$10^{-5}$ 以下" in cell_of(release_nb, "instructions").source
    for other in ("10^{-4}", "10^{-6}", "1e-4", "1e-6"):
        assert other not in text, other
    code = "\n".join(c.source for c in release_nb.cells if grade_id(c).startswith(GIVEN_PREFIX))
    assert "GRAD_TOL = 1e-5" in code and "tol=1e-6" not in code and "< 1e-4" not in code
    # the judge's rule and value
    numerics = (ENGINE_GRADERS / "numerics.py").read_text(encoding="utf-8")
    assert "\nFD_TOL = 1e-5\n" in numerics and "if err <= tol:" in (GRADERS / "checks.py").read_text("utf-8")


def test_visible_checks_pass_at_most_the_tolerance(ns):
    expected = np.ones(3)
    ns["nb74"].compare("part", "g", "dg", expected + [0.99e-5, 0, 0], expected)  # error 0.99e-5: passes
    message = failure(ns["nb74"].compare, "part", "g", "dg", expected + [1.01e-5, 0, 0], expected)
    assert "許容 1e-05" in message, message
    assert ns["relative_error"](expected + [2.0, 0, 0], expected) == pytest.approx(2 / 3)  # max(max|a|, max|b|)


@pytest.mark.parametrize("scale, passed", [(1 + 5e-6, True), (1 + 5e-5, False)])
def test_gradient_check_uses_the_same_tolerance(ns, scale, passed, capsys):
    class ScaledLinear(ns["Linear"]):  # dW off by the factor `scale`: relative error about scale - 1
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["W"] = self.grads["W"] * scale
            return dx

    np.random.seed(0)
    model = ns["MLP"]([2, 3, 1], activation="tanh")
    model.layers[0] = ScaledLinear(2, 3)
    X, t = np.random.randn(5, 2), np.random.randn(5, 1)
    assert ns["numerical_gradient_check"](model, ns["MSELoss"](), X, t) is passed
    assert "相対誤差 ≤ 1e-05" in capsys.readouterr().out


def test_relu_at_zero_accepts_either_mask(release_nb):
    section = next(c.source for c in release_nb.cells if c.cell_type == "markdown" and "### 4.2 ReLU" in c.source)
    assert "慣習" not in section, section
    assert "微分が定義されません" in section and "$[0, 1]$" in section, section
    assert "`x > 0`" in section and "`x >= 0`" in section and "正解" in section, section
    assert "x >= 0 のマスクでもよい" in cell_of(release_nb, "relu").source
    # what the graders say about x = 0: never used, any subgradient accepted
    graders = (GRADERS / "test_relu.py").read_text(encoding="utf-8")
    assert "x = 0 itself is never used" in graders and "x > 0 and x >= 0 are both correct" in graders


def test_toc_links_resolve(release_nb):
    links = [t for c in release_nb.cells if c.cell_type == "markdown" for t in re.findall(r"\]\(#([^)]+)\)", c.source)]
    assert len(links) >= 9, links
    anchors = set()
    for cell in release_nb.cells:
        if cell.cell_type == "markdown":
            anchors |= set(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", cell.source))
            # heading anchors as Jupyter and nbconvert make them: the heading text, spaces as '-'
            anchors |= {m.strip().replace(" ", "-") for m in re.findall(r"^#+\s+(.*)$", cell.source, re.M)}
    assert not [t for t in links if t not in anchors], f"links without a target: {set(links) - anchors}"


def test_visible_checks_catch_dout_modified_in_place(ns):
    class InPlaceReLU(ns["ReLU"]):
        def backward(self, dout):
            dout *= self.cache["mask"]
            return dout

    message = failure(ns["nb74"].check_activation, InPlaceReLU, np.array([[0.5, -1.0], [2.0, -0.3]]))
    assert DOUT_MODIFIED in message and "新しい配列を作って返してください" in message, message
    assert DOUT_MODIFIED in (GRADERS / "messages.py").read_text(encoding="utf-8")


def test_visible_checks_catch_accumulated_grads(ns):
    class AccumulatingLinear(ns["Linear"]):
        def backward(self, dout):
            previous = self.grads["W"]
            dx = super().backward(dout)
            if previous is not None:
                self.grads["W"] = previous + self.grads["W"]
            return dx

    message = failure(ns["nb74"].check_linear, AccumulatingLinear)
    assert LATEST in message and "dW = AccumulatingLinear.grads['W']" in message and SUMMED in message, message
    assert SUMMED in (GRADERS / "messages.py").read_text(encoding="utf-8")


def test_visible_checks_catch_a_stale_cache(ns):
    class StaleSigmoid(ns["Sigmoid"]):  # the derivative of the first forward, kept
        def backward(self, dout):
            if "d" not in self.cache:
                self.cache["d"] = self.cache["y"] * (1 - self.cache["y"])
            return dout * self.cache["d"]

    message = failure(ns["nb74"].check_activation, StaleSigmoid, np.random.default_rng(1).standard_normal((3, 4)))
    assert LATEST in message and STALE in message, message
    assert STALE in (GRADERS / "messages.py").read_text(encoding="utf-8")


def test_visible_checks_catch_a_cache_modified_in_place(ns):
    class InPlaceSoftmax(ns["SoftmaxCrossEntropy"]):
        def backward(self):
            p = self.cache["p"]
            p -= self.cache["t"]
            return p / self.cache["N"]

    message = failure(ns["nb74"].check_loss, InPlaceSoftmax, np.ones((2, 3)) * [0.1, 0.5, -0.2], np.array([0, 2]))
    assert REPEATED in message and "1 回目と同じになるはずです" in message and "p -= t" in message, message
    assert REPEATED in (GRADERS / "messages.py").read_text(encoding="utf-8")


def test_gradient_check_labels_layers_distinctly(ns, capsys):
    np.random.seed(81)
    model = ns["MLP"]([2, 4, 3], activation="tanh")
    assert ns["numerical_gradient_check"](model, ns["SoftmaxCrossEntropy"](), np.random.randn(6, 2), np.arange(6) % 3)
    out = capsys.readouterr().out
    for label in ("Linear[0].W", "Linear[0].b", "Linear[1].W", "Linear[1].b"):
        assert f"{label}: 相対誤差" in out, out
    assert "Linear.W" not in out, out


def test_gradient_check_names_the_layer_and_shape_that_disagree(ns, capsys):
    class TransposedLinear(ns["Linear"]):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["W"] = self.grads["W"].T
            return dx

    class ShortDxLinear(ns["Linear"]):
        def backward(self, dout):
            return super().backward(dout)[:, 1:]

    TransposedLinear.__name__ = ShortDxLinear.__name__ = "Linear"  # as the student's own class is named
    np.random.seed(0)
    X, t = np.random.randn(6, 2), np.arange(6) % 3
    model = ns["MLP"]([2, 4, 3], activation="relu")
    model.layers[0] = TransposedLinear(2, 4)
    assert ns["numerical_gradient_check"](model, ns["SoftmaxCrossEntropy"](), X, t) is False  # no ValueError
    out = capsys.readouterr().out
    assert "Linear[0].W: ✗ NG" in out and "形状が (4, 2) です（期待: params['W'] と同じ (2, 4)）" in out, out
    assert "Linear[1].W: 相対誤差" in out, out
    model.layers[0], model.layers[2] = ns["Linear"](2, 4), ShortDxLinear(4, 3)
    assert ns["numerical_gradient_check"](model, ns["SoftmaxCrossEntropy"](), X, t) is False
    out = capsys.readouterr().out
    assert "Linear[1].backward が 形状 (6, 3) の dx を返しました（期待: その層の入力 x と同じ形状 (6, 4)）" in out, out


def test_exercise_check_says_the_answer_cell_stopped(ns):
    class Result:  # what IPython keeps of the cell run last
        error_in_exec: BaseException | None = ValueError("matmul: Input operand 1 has a mismatch")
        error_before_exec = None

    nb74 = ns["nb74"]
    ns["model_81"] = object()
    nb74.get_ipython = lambda: type("Shell", (), {"last_execution_result": Result()})()
    try:
        message = failure(nb74.check_exercise, "8.1", ns)
        assert "演習 8.1 の解答欄のセルがエラー（ValueError: matmul" in message, message
        assert "変数 loss_81, X_81, t_81, passed_81 が作られていません" in message, message
        Result.error_in_exec = None  # the cell ran without error: the names are just missing
        message = failure(nb74.check_exercise, "8.1", ns)
        assert "変数 loss_81, X_81, t_81, passed_81 がありません" in message, message
    finally:
        del nb74.get_ipython  # outside IPython: no error known
    assert "がありません" in failure(nb74.check_exercise, "8.1", ns)
