"""The trust boundary: student code cannot see the graders, fake a score, or take the judge down."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.course.assignment import ROOT
from autograder.sandbox.errors import StudentError, StudentTimeout
from autograder.sandbox.launch import isolation_level
from autograder.sandbox.part_session import CALL_TIMEOUT
from autograder.sandbox.process import StudentProcess
from tests.judged import grade_notebook, part_scores
from tests.nb74 import NB74
from tests.student_process_cases import (  # noqa: F401
    load,
    test_a_hanging_call_is_cut_and_the_next_part_still_runs,
    test_cells_that_exit_hang_or_raise_at_load_are_skipped,
    test_exit_inside_a_call_loses_only_that_session,
    test_judge_never_unpickles_what_the_student_sends,
    test_memory_exhaustion_is_a_clear_error,
)
from tests.submissions import answer_source, make_submission

BWRAP = isolation_level("auto") == "bwrap"
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="needs bubblewrap (required in CI)")


@pytest.fixture
def proc():
    p = StudentProcess()
    yield p
    p.close()


@needs_bwrap
def test_student_sees_no_graders_no_source_and_no_network(proc):
    from autograder.graders.expected_store import ExpectedStore, default_path

    store_file = default_path()  # the judge's store of expected values (in its cache folder)
    if not store_file.exists():  # as after a grade
        store = ExpectedStore(store_file, NB74)
        store.put(("isolation test",), {"x": 1.0})
        store.save()
    secrets = [
        NB74.graders_dir / "conftest.py",
        NB74.rubric_path,
        NB74.source(),
        NB74.reference(),
        ROOT / "autograder" / "judge" / "grade.py",
        store_file,
    ]
    assert all(p.is_file() for p in secrets)
    probe = f"""
import socket
seen = {{}}
for p in {[str(p) for p in secrets]!r}:
    try:
        open(p).read(10); seen[p] = True
    except OSError:
        seen[p] = False
try:
    import autograder; seen['import autograder'] = True
except ImportError:
    seen['import autograder'] = False
try:
    socket.create_connection(('127.0.0.1', 22), timeout=1); seen['network'] = True
except OSError:
    seen['network'] = False
"""
    assert all(o.ok for o in load(proc, probe))
    with proc.part_session() as s:
        seen = dict(s.var("seen")["$dict"])
    assert len(seen) == len(secrets) + 2
    assert not any(seen.values()), seen


def test_children_forked_ahead_serve_the_parts_then_more_are_forked(proc):
    outcomes = load(
        proc, "A = 1", "class Twice:\n    def backward(self, dout):\n        return 2 * dout\n", ahead=True, forks=3
    )
    assert all(o.ok for o in outcomes)
    pids = [pid for _, pid in proc.forked]
    assert len(set(pids)) == 3 and proc.forks_ahead == []
    seen = []
    for _ in range(4):  # three children made ahead, then one forked on demand
        with proc.part_session() as s:
            seen.append(s.pid)
            assert s.new("Twice").backward(np.ones(2)).tolist() == [2.0, 2.0] and int(s.var("A")) == 1
    assert seen[:3] == pids and seen[3] not in pids and proc.forked == []


def test_a_closed_part_child_ends_by_itself(proc):
    load(
        proc,
        "import os\nclass Probe:\n    def alive(self, pid):\n        try:\n            os.kill(pid, 0)\n"
        "            return True\n        except ProcessLookupError:\n            return False\n",
    )
    with proc.part_session() as s:
        first = s.pid
        assert bool(s.new("Probe").call("alive", first))
    with proc.part_session() as s:
        probe, deadline = s.new("Probe"), time.monotonic() + 5
        while bool(probe.call("alive", first)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not bool(probe.call("alive", first))


def test_a_child_made_ahead_that_died_is_skipped(proc):
    load(proc, "A = 1", ahead=True, forks=3)
    (_, first), (_, second), (_, third) = proc.forked
    proc.kill_child(second)  # as a sibling could
    time.sleep(0.2)
    with proc.part_session() as s:
        assert s.pid == first
    with proc.part_session() as s:
        assert s.pid == third and int(s.var("A")) == 1


def test_loading_other_cells_than_those_sent_ahead_starts_afresh(proc):
    proc.spawn()
    proc.preload([("c0", "A = 1", True), ("c1", "B = 1", True)], forks=2)
    outcomes = proc.load([("c0", "A = 5", True)])  # same cell name, other source
    assert [o.ok for o in outcomes] == [True] and proc.sent_ahead == [] and proc.forked == []
    with proc.part_session() as s:
        assert int(s.var("A")) == 5
        with pytest.raises(Exception, match="B"):
            s.var("B")


def test_steps_run_in_one_round_trip_until_the_first_failure(proc):
    from autograder.sandbox import requests

    load(
        proc,
        "class Box:\n    def __init__(self, n):\n        self.params = {'n': n}\n"
        "    def forward(self, x):\n        return x * self.params['n']\n"
        "    def backward(self, dout):\n        raise ValueError('not yet')\n",
    )
    with proc.part_session() as s:
        h = {"$step": 0}
        replies, error = s.steps(
            [
                requests.new("Box", 2),
                requests.update(h, "Box", "params", {"n": 3}),
                requests.call(h, "Box", "forward", np.ones(2)),
                requests.call(h, "Box", "backward", np.ones(2)),
                requests.call(h, "Box", "forward", np.ones(2)),
            ]
        )
        assert len(replies) == 3 and replies[2]["result"].tolist() == [3.0, 3.0]
        assert isinstance(error, StudentError) and "Box.backward" in str(error) and "not yet" in str(error)
        assert s.new("Box", 4).forward(np.ones(1)).tolist() == [4.0]  # the channel is still in step
        replies, error = s.steps([requests.new("Nothing"), requests.call(h, "Nothing", "forward", 1)])
        assert error is None and replies == [{"missing": True}]


def test_a_round_sends_its_calls_at_once_and_its_first_failure_reaches_every_later_future(proc):
    from autograder.graders.calls import MISSING, Round

    load(
        proc,
        "class Box:\n    def __init__(self, n):\n        self.params, self.grads = {'n': n}, {}\n"
        "    def forward(self, x):\n        return x * self.params['n']\n"
        "    def backward(self, dout):\n        if self.params['n'] == 5:\n            raise ValueError('not yet')\n"
        "        self.grads['n'] = 1.0\n        return dout\n",
    )
    with proc.part_session() as s:
        with Round(s) as r:
            box = r.new("Box", 2, params={"n": 3})
            y = box.forward(np.ones(2))
            first = box.backward(np.ones(2), grads=("n", "m"))
            other = r.new("Box", 5)
            other.backward(np.ones(2))
            after = box.forward(np.ones(2))
            assert not y.ok  # nothing is sent before the block ends
        assert y.value().tolist() == [3.0, 3.0]
        assert first.value().grads == {"n": 1.0, "m": MISSING} and first.value().args_changed == [False]
        assert other.object().class_name == "Box"
        with pytest.raises(StudentError, match="not yet"):
            after.value()  # the student ran nothing after the failing call
        with Round(s) as r:
            missing = r.new("Nothing")
            later = missing.forward(np.ones(1))
        for future in (missing.made, later):
            with pytest.raises(StudentError, match="Nothing"):
                future.value()


def test_a_hanging_step_is_cut_like_a_single_call(proc):
    from autograder.sandbox import requests

    load(
        proc,
        "class Hang:\n    def forward(self, x):\n        return x\n"
        "    def backward(self, dout):\n        while True:\n            pass\n",
    )
    start = time.monotonic()
    with proc.part_session() as s:
        h = {"$step": 0}
        with pytest.raises(StudentTimeout, match="Hang.backward"):
            s.steps(
                [
                    requests.new("Hang"),
                    requests.call(h, "Hang", "forward", np.ones(2)),
                    requests.call(h, "Hang", "backward", np.ones(2)),
                ]
            )
    assert time.monotonic() - start < CALL_TIMEOUT + 3


@needs_bwrap
def test_processes_the_student_starts_do_not_outlive_grading(proc):
    marker = f"nb74-orphan-{os.getpid()}-{time.time_ns()}"
    load(
        proc,
        f"""
import os, subprocess, sys
class Spawn:
    def backward(self, dout):
        subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', '{marker}'],
                         start_new_session=True)
        return dout
""",
    )
    with proc.part_session() as s:
        s.new("Spawn").backward(np.zeros(1))
    running = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    assert running.strip(), "the orphan should be running while the submission is open"
    proc.close()
    time.sleep(0.3)
    assert not subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.strip()


# --- end to end: tampering earns exactly what the backward passes earn ------------------------

TAMPERING = {
    "monkeypatch numpy": "np.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
    "np.isfinite = lambda a: np.ones(np.shape(a), bool)\n",
    "monkeypatch print and builtins": "import builtins\nbuiltins.print = lambda *a, **k: None\n"
    "builtins.input = lambda *a: '100'\n",
    "monkeypatch pytest": "import sys, types\nfake = types.ModuleType('pytest')\nfake.main = lambda *a, **k: 0\n"
    "sys.modules['pytest'] = fake\n",
    "fake results files": "import json, os\nfor p in ['results.json', '/tmp/results.json', '../results.json',"
    " '/autograder/results/results.json']:\n    try:\n"
    "        open(p, 'w').write(json.dumps({'score': 100, 'max_score': 100}))\n"
    "    except OSError:\n        pass\n",
    "read files around": "import glob\nfor p in glob.glob('../../*/*') + glob.glob('/work/*/autograder/*/*')"
    " + glob.glob('/*/*.toml'):\n    try:\n        print(open(p).read()[:100])\n"
    "    except OSError:\n        pass\n",
    "sys.exit(0)": "import sys\nsys.exit(0)\n",
}

BUGGY_LINEAR = answer_source("linear").replace("self.grads['W'] = x.T @ dout", "self.grads['W'] = (dout.T @ x).T * 2")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("baseline")
    correct = part_scores(grade_notebook(make_submission(tmp / "correct.ipynb")))
    buggy = part_scores(grade_notebook(make_submission(tmp / "buggy.ipynb", {"linear": BUGGY_LINEAR})))
    assert buggy["linear"] < correct["linear"], "the planted Linear bug must cost points"
    return correct, buggy


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_earns_exactly_what_the_backward_passes_earn(name, baseline, tmp_path):
    correct, buggy = baseline
    code = TAMPERING[name]
    host_file = Path("/tmp/results.json")
    existed = host_file.exists()
    sub = make_submission(
        tmp_path / "t.ipynb",
        {"linear": answer_source("linear") + "\n" + code, "sigmoid": answer_source("sigmoid") + "\n" + code},
    )
    assert part_scores(grade_notebook(sub)) == correct
    sub = make_submission(tmp_path / "b.ipynb", {"linear": BUGGY_LINEAR + "\n" + code})
    assert part_scores(grade_notebook(sub)) == buggy
    if BWRAP and not existed:
        assert not host_file.exists(), "the sandbox's /tmp must not be the judge's"


def test_exit_inside_backward_costs_only_that_part(baseline, tmp_path):
    correct, _ = baseline
    quit_linear = answer_source("linear").replace("x = self.cache['x']", "import os; os._exit(0)")
    scores = part_scores(grade_notebook(make_submission(tmp_path / "q.ipynb", {"linear": quit_linear})))
    assert scores["linear"] == 0
    assert {k: v for k, v in scores.items() if k != "linear"} == {k: v for k, v in correct.items() if k != "linear"}


@pytest.mark.parametrize("tail", ["import os\nos._exit(0)", "while True:\n    pass"])
def test_exit_or_hang_after_a_correct_class_keeps_its_points(tail, baseline, tmp_path):
    correct, _ = baseline
    sub = make_submission(tmp_path / "x.ipynb", {"linear": answer_source("linear") + "\n" + tail})
    results = grade_notebook(sub)
    assert part_scores(results) == correct, (results["problems"], results["tests"][0]["output"])
    assert any("飛ばして採点しました" in p for p in results["problems"])


def test_cells_too_large_to_send_ahead_are_sent_one_by_one(proc):
    from autograder.sandbox.process import PRELOAD_BYTES

    big = "X = 1\n" + "#" * PRELOAD_BYTES
    proc.spawn()
    proc.preload([("c0", big, True)])
    assert proc.sent_ahead == []  # the judge never waits on a full socket buffer
    assert [o.ok for o in load(proc, big)] == [True]


def test_a_result_too_large_to_send_is_a_clear_error(proc):
    from autograder.sandbox.inside.protocol import MAX_ARRAY

    load(
        proc,
        f"import numpy as np\nclass Huge:\n    def backward(self, dout):\n"
        f"        return np.zeros({MAX_ARRAY // 8 + 1})\n",
    )
    with proc.part_session() as s:
        with pytest.raises(StudentError, match="採点側に送れません"):
            s.new("Huge").backward(np.zeros(3))
