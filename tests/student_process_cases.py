"""StudentProcess behaviour shared by tests/test_judge_isolation.py (a process per test) and
tests/test_fork_server.py (served by a ForkServer): not a test module itself; each of those imports
these tests and gives its own `proc` fixture."""

from __future__ import annotations

import time

import numpy as np
import pytest

from autograder.sandbox.errors import StudentCrashed, StudentError, StudentTimeout
from autograder.sandbox.part_session import CALL_TIMEOUT
from autograder.sandbox.process import StudentProcess


def load(proc: StudentProcess, *sources: str, ahead: bool = False, forks: int = 2) -> list:
    cells = [(f"c{i}", src, True) for i, src in enumerate(sources)]
    if ahead:  # as the judge does: cells and part children asked for before the process is ready
        proc.spawn()
        proc.preload(cells, forks=forks)
        assert proc.sent_ahead == cells and len(proc.forks_ahead) == forks
    return proc.load(cells)


@pytest.mark.parametrize("dtype", ["|O", "|V8", "<M8[s]"])
def test_judge_never_unpickles_what_the_student_sends(proc, tmp_path, dtype):
    """The student rewrites the runner's encoder to send a pickle declared as an array."""
    marker = tmp_path / "pwned"
    evil = f"""
import json, os, pickle, struct, sys
class Evil:
    def __reduce__(self):
        return (os.system, ("touch {marker}",))
payload = pickle.dumps(Evil())
def evil_encode(header):
    head = json.dumps({{"body": {{"result": {{"$a": 0}}}}, "arrays": [["{dtype}", [1]]]}}).encode()
    body = struct.pack(">I", len(head)) + head + payload
    return struct.pack(">I", len(body)) + body
class Layer:
    def backward(self, dout):  # its reply goes out through the forged encoder
        sys.modules["__main__"].protocol.encode = evil_encode
        return dout * 2
"""
    assert all(o.ok for o in load(proc, evil))
    with proc.part_session() as s:
        layer = s.new("Layer")
        with pytest.raises(StudentError):
            layer.backward(np.ones((2, 2)))
    assert not marker.exists()


def test_a_hanging_call_is_cut_and_the_next_part_still_runs(proc):
    load(
        proc,
        "class Hang:\n    def backward(self, dout):\n        while True:\n            pass\n"
        "class Fine:\n    def backward(self, dout):\n        return dout + 1\n",
    )
    start = time.monotonic()
    with proc.part_session() as s:
        with pytest.raises(StudentTimeout, match="秒以内に終わりませんでした"):
            s.new("Hang").backward(np.zeros(3))
    assert time.monotonic() - start < CALL_TIMEOUT + 3
    with proc.part_session() as s:
        assert np.array_equal(s.new("Fine").backward(np.zeros(3)), np.ones(3))


def test_memory_exhaustion_is_a_clear_error(proc):
    load(proc, "import numpy as np\nclass Greedy:\n    def backward(self, dout):\n        return np.ones((1 << 31,))\n")
    with proc.part_session() as s:
        with pytest.raises(StudentError, match="メモリが足りなく"):
            s.new("Greedy").backward(np.zeros(3))


def test_exit_inside_a_call_loses_only_that_session(proc):
    load(
        proc,
        "import os\nclass Quit:\n    def backward(self, dout):\n        os._exit(0)\n"
        "class Fine:\n    def backward(self, dout):\n        return dout\n",
    )
    with proc.part_session() as s:
        with pytest.raises(StudentCrashed, match="プロセスが終了しました"):
            s.new("Quit").backward(np.zeros(3))
    with proc.part_session() as s:
        assert s.new("Fine").backward(np.ones(2)).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("ahead", [False, True], ids=["sent-one-by-one", "sent-ahead"])
def test_cells_that_exit_hang_or_raise_at_load_are_skipped(proc, ahead):
    outcomes = load(
        proc,
        "A = 1",
        "import os\nos._exit(3)",
        "import sys\nsys.exit(0)",
        "raise ImportError('no torch')",
        "while True:\n    pass",
        "B = 2",
        ahead=ahead,
    )
    assert [o.ok for o in outcomes] == [True, False, False, False, False, True]
    assert "プロセスが終了しました" in outcomes[1].message
    assert "SystemExit" in outcomes[2].message and "ImportError" in outcomes[3].message
    assert "無限ループ" in outcomes[4].message
    assert proc.forked == [] and proc.forks_ahead == []  # children of a replaced process: dropped
    with proc.part_session() as s:
        assert int(s.var("A")) == 1 and int(s.var("B")) == 2
