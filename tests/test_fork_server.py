"""The fork server: one sandbox for many submissions, as isolated from each other as one-shot ones."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox import fork_server
from autograder.sandbox.fork_server import ForkServer
from autograder.sandbox.launch import isolation_level
from autograder.sandbox.process import StudentProcess
from tests.judged import grade_notebook, part_scores

# The same StudentProcess behaviour, run here with this module's `proc` (served by a ForkServer).
from tests.student_process_cases import (  # noqa: F401
    test_a_hanging_call_is_cut_and_the_next_part_still_runs,
    test_cells_that_exit_hang_or_raise_at_load_are_skipped,
    test_exit_inside_a_call_loses_only_that_session,
    test_judge_never_unpickles_what_the_student_sends,
    test_memory_exhaustion_is_a_clear_error,
)
from tests.submissions import RELEASE, SOLUTION, answer_source, make_submission

LEVELS = ["bwrap", "process"] if isolation_level("auto") == "bwrap" else ["process"]


@pytest.fixture(scope="module", params=LEVELS)
def server(request):
    with ForkServer(request.param) as s:
        yield s


@pytest.fixture
def proc(server):
    p = StudentProcess(server=server)
    yield p
    p.close()


def master_pid(server: ForkServer) -> int:
    """The host pid of the master: the server's process itself, or bwrap's child under bwrap."""
    pid = server.popen.pid
    if server.level == "bwrap":
        pid = int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])
    assert "--master" in Path(f"/proc/{pid}/cmdline").read_text()
    return pid


def running(marker: str) -> bool:
    return bool(subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.strip())


@pytest.fixture(scope="module")
def one_shot():
    """Results without a server, per isolation level and notebook."""
    cache: dict = {}

    def get(level: str, path: Path) -> dict:
        if (level, path) not in cache:
            cache[level, path] = grade_notebook(path, isolation=level)
        return cache[level, path]

    return get


@pytest.mark.parametrize("notebook", [SOLUTION, RELEASE], ids=["solution", "release"])
def test_results_are_exactly_those_without_a_server(server, one_shot, notebook):
    for _ in range(2):  # the second one runs in a zygote forked after the first was cleared away
        results = grade_notebook(notebook, server=server)
        assert results == one_shot(server.level, notebook)
        assert results["isolation"].split("+")[0] == server.level and "seccomp" in results["isolation"]


def test_a_submission_leaves_nothing_for_the_next(server):
    marker = f"nb74-orphan-{os.getpid()}-{time.time_ns()}"
    elsewhere = ["/tmp/left", "/dev/shm/left"] if server.level == "bwrap" else []  # / and /dev: read-only
    dirty = f"""
import os, subprocess, sys
import numpy as np
np.allclose = lambda *a, **k: True
np.linalg.norm = lambda *a, **k: 0.0
for p in ['left.txt'] + {elsewhere!r}:
    open(p, 'w').write('x')
os.makedirs('locked/inner')
os.chmod('locked', 0)
if {server.level == "bwrap"}:  # bwrap contains a setsid grandchild; 'process' refuses setsid
    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', '{marker}'],
                     start_new_session=True)
"""
    with StudentProcess(server=server) as first:
        assert [o.ok for o in first.load([("dirty", dirty, True)])] == [True]
        assert running(marker) == (server.level == "bwrap")
    probe = f"""
import os
import numpy as np
seen = {{'cwd': sorted(os.listdir('.')), 'allclose': bool(np.allclose(0, 1)),
        'norm': float(np.linalg.norm([3.0, 4.0])), 'elsewhere': [os.path.exists(p) for p in {elsewhere!r}]}}
"""
    with StudentProcess(server=server) as second:
        assert [o.ok for o in second.load([("probe", probe, True)])] == [True]
        with second.part_session() as s:
            seen = dict(s.var("seen")["$dict"])
    assert seen["cwd"] == [] and seen["allclose"] is False and float(seen["norm"]) == 5.0
    assert not any(seen["elsewhere"])
    assert not running(marker)


# the sandbox has no /proc: probe every pid of its PID namespace with signal 0
PIDS_IN_SANDBOX = """
import os
def exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
pids = [p for p in range(1, 1 << 15) if exists(p)]
"""


@pytest.mark.skipif("bwrap" not in LEVELS, reason="needs bubblewrap")
def test_no_process_but_the_master_survives_between_submissions():
    with ForkServer("bwrap") as server:
        with StudentProcess(server=server) as first:
            first.load(
                [
                    (
                        "fork",
                        "import os\nfor _ in range(5):\n    if os.fork() == 0:\n"
                        "        os.setsid()\n        import time; time.sleep(600)\n",
                        True,
                    )
                ]
            )
        with StudentProcess(server=server) as second:
            second.load([("ps", PIDS_IN_SANDBOX + "me = os.getpid()", True)])
            with second.part_session() as s:
                pids, me = [int(p) for p in s.var("pids")], int(s.var("me"))
    assert pids == [1, me], "only the master (PID 1) and this zygote"


@pytest.mark.skipif("bwrap" not in LEVELS, reason="needs bubblewrap")
def test_a_submission_cannot_reach_into_the_master():
    """No bwrap init to ptrace and leave code in; the master (PID 1) is not dumpable, and signals
    sent from inside its PID namespace do not reach it."""
    attack = """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
seized = libc.ptrace(0x4206, 1, None, None) == 0  # PTRACE_SEIZE
try:
    open('/proc/1/mem', 'rb'); mem = True
except OSError:
    mem = False
for sig in (signal.SIGSTOP, signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
    os.kill(1, sig)
"""
    with ForkServer("bwrap") as server:
        with StudentProcess(server=server) as first:
            assert first.load([("attack", attack, True)])[0].ok
            with first.part_session() as s:
                assert not bool(s.var("seized")) and not bool(s.var("mem"))
        with StudentProcess(server=server) as second:
            assert second.load([("a", "A = 1", True)])[0].ok
        assert server.starts == 1 and server.alive()


@pytest.mark.skipif("bwrap" not in LEVELS, reason="needs bubblewrap")
def test_a_damaged_sandbox_is_replaced():
    with ForkServer("bwrap") as server:
        with StudentProcess(server=server) as first:
            # deeper than the master's clean-up recurses: it cannot restore /tmp
            assert first.load(
                [
                    (
                        "deep",
                        "import os\nos.chdir('/tmp')\nfor _ in range(1200):\n    os.mkdir('d')\n    os.chdir('d')",
                        True,
                    )
                ]
            )[0].ok
        assert server.starts == 1
        with StudentProcess(server=server) as second:
            second.load([("deep", "import os\nleft = os.listdir('/tmp')", True)])
            with second.part_session() as s:
                assert s.var("left") == ["work"]
        assert server.starts == 2


def test_a_master_killed_from_outside_is_restarted(server):
    expected = grade_notebook(SOLUTION, server=server)
    starts = server.starts
    os.kill(master_pid(server), signal.SIGKILL)
    assert grade_notebook(SOLUTION, server=server) == expected
    assert server.starts == starts + 1


def test_a_master_killed_during_a_submission_is_restarted(server, proc):
    proc.load([("c", "class Fine:\n    def backward(self, dout):\n        return dout + 1\n", True)])
    os.kill(master_pid(server), signal.SIGKILL)
    server.popen.wait(5)  # then the zygote is gone too (PID namespace, or PR_SET_PDEATHSIG)
    with proc.part_session() as s:
        assert s.new("Fine").backward(np.zeros(2)).tolist() == [1.0, 1.0]


def test_a_master_that_stops_answering_is_replaced(server, monkeypatch):
    monkeypatch.setattr(fork_server, "MASTER_TIMEOUT", 1.0)
    with StudentProcess(server=server) as p:  # make sure a master is running
        p.load([("a", "A = 1", True)])
    starts, stuck = server.starts, master_pid(server)
    os.kill(stuck, signal.SIGSTOP)
    try:
        with StudentProcess(server=server) as p:
            assert p.load([("a", "A = 2", True)])[0].ok
            with p.part_session() as s:
                assert int(s.var("A")) == 2
        assert server.starts == starts + 1
    finally:
        try:
            os.kill(stuck, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("body", ["import os; os._exit(0)", "while True: pass"], ids=["exit", "hang"])
def test_a_crash_or_hang_in_a_part_costs_only_that_part(server, one_shot, body, tmp_path):
    correct = part_scores(one_shot(server.level, SOLUTION))
    broken = answer_source("linear").replace("x = self.cache['x']", body)
    scores = part_scores(grade_notebook(make_submission(tmp_path / "b.ipynb", {"linear": broken}), server=server))
    assert scores["linear"] == 0
    assert {k: v for k, v in scores.items() if k != "linear"} == {k: v for k, v in correct.items() if k != "linear"}
    assert grade_notebook(SOLUTION, server=server) == one_shot(server.level, SOLUTION)


def test_student_output_is_captured_per_submission(server):
    """In a file as in one-shot mode: stdout is block-buffered there, hence the flush."""
    with StudentProcess(server=server) as first:
        first.load([("p", "print('first', flush=True)\nimport sys; print('oops', file=sys.stderr)", True)])
        assert first.student_output() == "first\noops\n"
    with StudentProcess(server=server) as second:
        second.load([("p", "print('second', flush=True)", True)])
        assert second.student_output() == "second\n"


ROOTS_OF = {"bwrap": "['/tmp', '/dev/shm']", "process": "[os.path.dirname(os.getcwd())]"}  # the writable mounts
ROOT_STATE = """
import os
def state(root):
    st = os.stat(root)
    try:
        xattrs = {n: os.getxattr(root, n).decode('latin-1') for n in os.listxattr(root)}
    except OSError as exc:  # a file system without user xattrs
        xattrs = {'error': type(exc).__name__}
    return {'mode': st.st_mode, 'uid': st.st_uid, 'mtime': st.st_mtime_ns, 'xattrs': xattrs}
seen = [state(r) for r in ROOTS]
"""


def roots_seen(server: ForkServer, extra: str = "") -> list[dict]:
    """The state of the sandbox's writable roots themselves, as a submission sees them (after `extra`)."""
    code = f"import os\nROOTS = {ROOTS_OF[server.level]}\n{extra}\n{ROOT_STATE}"
    with StudentProcess(server=server) as p:
        outcome = p.load([("roots", code, True)])[0]
        assert outcome.ok, outcome.message
        with p.part_session() as s:
            seen = [dict(r["$dict"]) for r in s.var("seen")]
    return [{k: (dict(v["$dict"]) if isinstance(v, dict) else int(v)) for k, v in r.items()} for r in seen]


def test_the_writable_roots_themselves_are_restored_for_the_next(server):
    """Finding 12: a submission sets an xattr on /tmp and /dev/shm (the server's folder at the
    'process' level), chmods and touches them; the next one sees them as the first one did."""
    pristine, starts = roots_seen(server), server.starts
    marks = """
for root in ROOTS:
    try:
        os.setxattr(root, 'user.nb74_left', b'from the last submission')
    except OSError:
        pass
    os.chmod(root, 0o700)
    os.utime(root, ns=(123456789, 123456789))
"""
    changed = roots_seen(server, marks)
    assert all(r["mode"] & 0o7777 == 0o700 and r["mtime"] == 123456789 for r in changed), changed
    print(server.level, "pristine", pristine, "changed", changed)
    if server.level == "bwrap":  # tmpfs keeps user xattrs (Linux 6.6 and later)
        assert all(r["xattrs"] == {"user.nb74_left": "from the last submission"} for r in changed), changed
    after = roots_seen(server)
    assert after == pristine, (pristine, changed)
    assert server.starts == starts  # restored in place, not by a new sandbox
