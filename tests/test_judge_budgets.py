"""Attacks on what the judge trusts and spends, through the real judge (bwrap sandbox, CLI subprocesses).

- Hidden inputs: text the student sends is bounded, cleaned and shows no hidden value, even from a
  runner whose error reporting the submission replaced; inputs are drawn per submission from the
  course secret, so a table of inputs learnt from one submission earns nothing in another.
- Budgets: an exercise set up far larger than asked, and replies of 60 MiB arrays, are graded in
  bounded time and judge memory with a Japanese reason; Ctrl-C during a grade writes no results.
- Self-reported properties: patching the runner's np.array_equal or ForwardWatch from a cell no
  longer earns the dout-untouched or analytic points (the judge checks them itself).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.course.assignment import ROOT
from autograder.course.secret import ENV_SECRET
from autograder.judge.grade import MAX_OUTPUT_CHARS
from tests.bugs.catalog import CACHE_X, with_backward
from tests.judge_inputs import linear_inputs
from tests.judged import grade_notebook, part_scores
from tests.nb74 import NB74
from tests.signals import sigint_default
from tests.submissions import answer_source, make_submission

RUBRIC = NB74.rubric
SECRET = "5eed" * 16  # this module's course secret (the judge's default file is left alone)


@pytest.fixture(autouse=True)
def course_secret(monkeypatch):
    monkeypatch.setenv(ENV_SECRET, SECRET)


def cli_grade(notebook: Path, out: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(notebook), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def part_tests(results: dict, part: str) -> dict[str, dict]:
    return {t["name"].split(" :: ")[-1]: t for t in results["tests"] if t["part"] == part}


# --- finding 4: hidden inputs neither leak nor are reusable -------------------------------------------
LEAKING_LINEAR = (
    with_backward(
        "linear",
        r"""
def backward(self, dout):
    import json
    blob = json.dumps({"x": self.cache['x'].tolist(), "W": self.params['W'].tolist(), "dout": dout.tolist()})
    raise type("X" + blob[:5000] + "\x1b[2J\x07", (Exception,), {})(blob * 20 + "\ud800\u202e")
""",
    )
    + r"""
import json as _json, sys as _sys
# the student owns this process: lone surrogates reach the judge escaped, and the runner's own
# error report (truncated there) is replaced by one that carries everything
_dumps = _json.dumps
_json.dumps = lambda *a, **k: _dumps(*a, **{**k, "ensure_ascii": True})
_runner = _sys.modules["__main__"]
_runner.error_info = lambda exc: {"type": type(exc).__name__ + "\x00\x1b\ud800" * 50, "message": str(exc) * 10,
                                  "where": {"cell": "linear" + "\x1b" * 9 + str(exc)[:3000], "line": str(exc)[:500],
                                            "function": str(exc)[:3000], "code": str(exc)[:3000]}}
"""
)

UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e]")


def value_prefixes(cases: list[dict]) -> set[str]:
    """The first 6 characters of each hidden value as Python and JSON print it (e.g. '0.4967')."""
    out = set()
    for case in cases:
        for k in ("x", "x2", "W", "b", "dout"):
            for v in np.ravel(case.get(k, [])):
                out.add(repr(abs(float(v)))[:6])
    return out


def test_exception_text_is_bounded_cleaned_and_shows_no_hidden_input(tmp_path):
    nb = make_submission(tmp_path / "leak.ipynb", {"linear": LEAKING_LINEAR})
    out = tmp_path / "results.json"
    done = cli_grade(nb, out)
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    results = json.loads(text)
    linear = part_tests(results, "linear")
    assert linear and all(t["status"] == "failed" for t in linear.values())
    assert any("例外 X" in t["output"] for t in linear.values()), linear  # the student still learns what raised
    everything = [t["output"] for t in results["tests"]] + results["problems"] + [done.stdout]
    for shown in everything:
        assert len(shown) <= MAX_OUTPUT_CHARS and not UNPRINTABLE.search(shown), shown[:300]
    for t in linear.values():
        assert len(t["output"]) < 700, t["output"]  # type, message and line each bounded
    leaked = [p for p in value_prefixes(linear_inputs(nb)) if p in text or p in done.stdout]
    assert not leaked, leaked
    others = {p: s for p, s in part_scores(results).items() if p != "linear"}
    assert others == {p.name: p.points for p in RUBRIC.parts.values() if p.name != "linear"}


PROBE = with_backward(
    "linear",
    r"""
def backward(self, dout):
    import hashlib
    digest = hashlib.sha256(self.cache['x'].tobytes() + dout.tobytes()).digest()
    raise type("Probe" + "".join(chr(97 + b % 26) for b in digest[:10]), (Exception,), {})("inputs seen")
""",
)


def probe_tags(results: dict) -> set[str]:
    return {m for t in results["tests"] if t["part"] == "linear" for m in re.findall(r"Probe([a-z]{10})", t["output"])}


def test_inputs_are_drawn_per_submission(tmp_path):
    """Identical code gets identical inputs; a one-character change of the code gets other inputs."""
    a = make_submission(tmp_path / "a.ipynb", {"linear": PROBE})
    b = make_submission(tmp_path / "b.ipynb", {"linear": PROBE + "# another submission\n"})
    first, again, other = (probe_tags(grade_notebook(nb)) for nb in (a, a, b))
    assert len(first) >= 4 and first == again
    assert not first & other, first & other
    cases_a, cases_b = linear_inputs(a), linear_inputs(b)
    assert not np.array_equal(cases_a[0]["x"], cases_b[0]["x"])
    # another course secret: other inputs for the very same code
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_SECRET, "ab" * 32)
        assert not np.array_equal(linear_inputs(a)[0]["x"], cases_a[0]["x"])


def lookup_table_linear(cases: list[dict], fallback: str) -> str:
    """Linear.backward answering from a table of (x, W, dout) -> exact gradients, else `fallback`."""
    table = {}
    for case in cases:
        W = case["W"]
        for x in [case["x"]] + ([case["x2"]] if "x2" in case else []):
            for scale in (1.0, -1.5):
                dout = case["dout"] * scale
                key = hashlib.sha256(x.tobytes() + W.tobytes() + dout.tobytes()).hexdigest()
                table[key] = ((dout @ W.T).tolist(), (x.T @ dout).tolist(), dout.sum(axis=0).tolist())
    return (
        with_backward(
            "linear",
            f"""
def backward(self, dout):
    import hashlib
    x, W = self.cache['x'], self.params['W']
    hit = TABLE.get(hashlib.sha256(x.tobytes() + W.tobytes() + dout.tobytes()).hexdigest())
    if hit is not None:
        self.grads['W'], self.grads['b'] = np.array(hit[1]), np.array(hit[2])
        return np.array(hit[0])
{fallback}
""",
        )
        + f"\nTABLE = {json.dumps(table)}\n"
    )


FALLBACK = """    N = x.shape[0]
    self.grads['W'] = x.T @ dout / N
    self.grads['b'] = np.sum(dout, axis=0) / N
    return dout @ W.T"""


def test_a_table_of_inputs_learnt_from_one_submission_earns_nothing_in_the_next(tmp_path):
    """Submission 1's hidden inputs, known exactly (more than any leak gives), tabled in submission 2:
    it earns what its fallback formula earns alone."""
    first = make_submission(tmp_path / "first.ipynb")
    table = lookup_table_linear(linear_inputs(first), FALLBACK)
    # the table works on the inputs it was made for: the same cases in-process give exact gradients
    ns: dict = {}
    exec(
        "import numpy as np\nclass Layer:\n    def __init__(self):\n        self.params, self.grads, self.cache = {}, {}, {}\n"
        + table,
        ns,
    )
    case = linear_inputs(first)[0]
    lin = ns["Linear"](*case["W"].shape)
    lin.params["W"], lin.params["b"] = case["W"].copy(), case["b"].copy()
    lin.forward(case["x"].copy())
    assert np.allclose(lin.backward(case["dout"].copy()), case["dout"] @ case["W"].T)

    second = make_submission(tmp_path / "second.ipynb", {"linear": table})
    alone = make_submission(tmp_path / "alone.ipynb", {"linear": lookup_table_linear([], FALLBACK)})
    with_table, fallback_only = grade_notebook(second), grade_notebook(alone)
    assert part_scores(with_table)["linear"] == part_scores(fallback_only)["linear"] < RUBRIC.parts["linear"].points


# --- finding 5: bounded judge work and memory; an interrupted grade records nothing ------------------
def peak_rss_of_grade(
    notebook: Path, out: Path, timeout: float = 300
) -> tuple[subprocess.CompletedProcess, int, float]:
    """(the grade's process, peak RSS in bytes of the grade and everything it waited for, seconds)."""
    wrapper = (
        "import resource, subprocess, sys\n"  # a grade over its time is killed (its sandbox dies with it)
        "done = subprocess.run([sys.executable, '-m', 'autograder', 'grade', sys.argv[1], '--json', sys.argv[2]],"
        " timeout=float(sys.argv[3]))\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(done.returncode)\n"
    )
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, str(notebook), str(out), str(timeout)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        env=os.environ.copy(),
    )
    assert done.returncode == 0 or "TimeoutExpired" not in done.stderr, f"the grade took over {timeout} s"
    seconds = time.monotonic() - start
    return done, int(done.stdout.strip().splitlines()[-1]) * 1024, seconds


def test_an_exercise_far_larger_than_asked_is_refused_quickly(tmp_path):
    cell = (
        answer_source("exercise_8_2")
        .replace("MLP([3, 8, 8, 4, 1]", "MLP([1000, 1000, 1000, 1]")
        .replace("np.random.randn(5, 3)", "np.random.randn(5, 1000)")
    )
    nb = make_submission(tmp_path / "huge.ipynb", {"exercise_8_2": cell})
    out = tmp_path / "results.json"
    done, rss, seconds = peak_rss_of_grade(nb, out, timeout=240)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    tests = part_tests(results, "exercise_8_2")
    check = tests["test_gradient_check_passes"]
    assert check["status"] == "failed" and "課題のとおり MLP([3, 8, 8, 4, 1])" in check["output"], check
    assert "パラメータ 2003001 個" in check["output"], check
    assert (
        tests["test_model_architecture"]["status"] == "failed" and tests["test_variables_defined"]["status"] == "passed"
    )
    others = {p: s for p, s in part_scores(results).items() if p != "exercise_8_2"}
    assert others == {p.name: p.points for p in RUBRIC.parts.values() if p.name != "exercise_8_2"}
    assert seconds < 60, seconds
    assert rss < 1 << 30, rss


BIG = "np.ones(60 << 20, dtype=bool)"  # 60 MiB; 480 MiB once converted to float64


def test_replies_of_60_MiB_arrays_are_refused_in_bounded_memory(tmp_path):
    replace = {
        "linear": with_backward("linear", f"def backward(self, dout):\n    return {BIG}\n"),  # a layer
        "mse": with_backward("mse", f"def backward(self):\n    return {BIG}\n"),
    }  # and a loss
    nb = make_submission(tmp_path / "big.ipynb", replace)
    out = tmp_path / "results.json"
    done, rss, seconds = peak_rss_of_grade(nb, out)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    for part in replace:
        outputs = [t["output"] for t in part_tests(results, part).values()]
        assert any("大きすぎます" in o for o in outputs), outputs
        assert part_scores(results)[part] == 0
    assert rss < 700 << 20, f"peak RSS {rss >> 20} MiB"
    assert seconds < 120, seconds


SLOW_LINEAR = with_backward(
    "linear",
    """
def backward(self, dout):
    import time
    time.sleep(1.5)
    x = self.cache['x']
    self.grads['W'] = x.T @ dout
    self.grads['b'] = np.sum(dout, axis=0)
    return dout @ self.params['W'].T
""",
)


def test_ctrl_c_during_a_grade_writes_no_results(tmp_path):
    nb = make_submission(tmp_path / "slow.ipynb", {"linear": SLOW_LINEAR})
    out = tmp_path / "results.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(nb), "--json", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        preexec_fn=sigint_default,  # Ctrl-C reaches it even when the suite runs in the background
    )
    try:
        time.sleep(4.0)  # the Linear part is being graded (1.5 s per backward call)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()  # the sandbox dies with its parent
    assert proc.returncode != 0, stdout
    assert not out.exists()
    assert "中断" in stderr and "合計" not in stdout


def test_a_part_over_its_wall_clock_budget_is_cut_with_a_reason(tmp_path, monkeypatch):
    from autograder.sandbox import budget

    monkeypatch.setattr(budget, "PART_BUDGET", 2.0)  # read when each StudentProcess is made
    nb = make_submission(tmp_path / "slow.ipynb", {"linear": SLOW_LINEAR.replace("1.5", "0.4")})
    results = grade_notebook(nb)
    linear = part_tests(results, "linear")
    cut = [t for t in linear.values() if "制限時間（2 秒）を超えたため打ち切りました" in t["output"]]
    assert cut and all(t["status"] == "failed" for t in cut), linear
    assert any("制限時間" in p for p in results["problems"])
    others = {p: s for p, s in part_scores(results).items() if p != "linear"}
    assert others == {p.name: p.points for p in RUBRIC.parts.values() if p.name != "linear"}


# --- finding 8: properties the judge checks itself ---------------------------------------------------
def sigmoid_results(tmp_path: Path, cell: str) -> dict[str, dict]:
    return part_tests(grade_notebook(make_submission(tmp_path / "s.ipynb", {"sigmoid": cell})), "sigmoid")


def test_patching_array_equal_does_not_earn_the_dout_untouched_point(tmp_path):
    cell = (
        with_backward(
            "sigmoid",
            """
def backward(self, dout):
    y = self.cache['y']
    dout *= y * (1 - y)
    return dout
""",
        )
        + "\nnp.array_equal = lambda *a, **k: True   # the runner's own comparison now says 'unchanged'\n"
    )
    tests = sigmoid_results(tmp_path, cell)
    assert tests["test_dout_untouched"]["status"] == "failed", tests["test_dout_untouched"]
    assert "dout をその場で書き換えています" in tests["test_dout_untouched"]["output"]


def test_blinding_the_forward_watch_does_not_earn_the_analytic_point(tmp_path):
    cell = (
        with_backward(
            "sigmoid",
            """
def backward(self, dout):
    x, h = self.cache['x'], 1e-5
    slope = (self.forward(x + h) - self.forward(x - h)) / (2 * h)
    self.forward(x)
    return dout * slope
""",
            forward_extra=CACHE_X,
        )
        + "\nimport sys\nsys.modules['__main__'].ForwardWatch.__enter__ = lambda self: self   # counts nothing\n"
    )
    tests = sigmoid_results(tmp_path, cell)
    assert tests["test_analytic"]["status"] == "failed", tests["test_analytic"]
    assert "数値微分" in tests["test_analytic"]["output"]
    values = [t for name, t in tests.items() if name.startswith("test_gradients[")]
    assert values and all(t["status"] == "passed" for t in values)  # the values are right: only the property fails


def test_an_interrupted_grade_in_a_batch_is_not_recorded(tmp_path):
    """SIGINT reaches a batch worker while it grades: the worker's grade records nothing (before,
    pytest swallowed the interrupt and the worker returned a partial score, which was recorded)."""
    from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook
    from tests.course import A, add_students, batch_cmd, db_url, env, make_course, place

    course = make_course(tmp_path / "course")
    add_students(course, ["a_fast", "b_slow"])
    place(course, "a_fast", make_submission(tmp_path / "fast.ipynb"))
    place(course, "b_slow", make_submission(tmp_path / "slow.ipynb", {"linear": SLOW_LINEAR}))
    proc = subprocess.Popen(
        batch_cmd(course, "--no-feedback", "--workers", "1"),
        cwd=ROOT,
        env={**env(), ENV_SECRET: SECRET},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,  # its workers inherit a default SIGINT, even from a background run
    )

    def graded() -> dict[str, str]:
        try:
            with JudgeGradebook(db_url(course)) as book:
                return book.graded(A)
        except Exception:  # the batch has not created its table yet
            return {}

    try:
        interrupt_the_worker_of(proc, graded)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert set(graded()) == {"a_fast"}, (stdout, stderr[-2000:])  # a rerun grades b_slow


def interrupt_the_worker_of(proc: subprocess.Popen, graded) -> None:
    """Once a_fast is recorded and b_slow is being graded, SIGINT to the batch's worker."""
    deadline = time.monotonic() + 120
    while "a_fast" not in graded() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "a_fast" in graded()
    time.sleep(3.0)  # b_slow's Linear part is being graded (1.5 s per backward call)

    def children(pid: int) -> list[tuple[int, str]]:
        out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        return [(int(line.split()[0]), line) for line in out.splitlines()]

    # the worker is the child of the batch that holds a sandbox (the other is multiprocessing's helper)
    pids = [pid for pid, _ in children(proc.pid) if any("bwrap" in line for _, line in children(pid))]
    assert len(pids) == 1, children(proc.pid)
    os.kill(pids[0], signal.SIGINT)
