"""Finding 9: without bubblewrap ('process' level) the student still cannot read the graders or the
rubric, nor write into the repository, nor reach the judge; the results say which layers held.

The layers: no privileges (uid 65534 where it can reach the interpreter, else uid 0 with every
capability dropped), Landlock (reads beneath the interpreter and the runner's folder only, writes
beneath the working folder only, no signals out of its domain), seccomp (no network, ptrace or IPC).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from autograder.course.assignment import ROOT
from autograder.course.files import cache_dir, make_cache_dir
from autograder.sandbox.fork_server import ForkServer
from autograder.sandbox.process import StudentProcess
from tests.nb74 import NB74
from tests.submissions import SOLUTION

GRADERS = sorted((ROOT / "autograder" / "graders").glob("*.py")) + sorted(NB74.graders_dir.glob("*.py"))
SOURCE = sorted(p for p in (ROOT / "source").rglob("*") if p.is_file())
SECRETS = [NB74.rubric_path, NB74.reference(), ROOT / "autograder" / "judge" / "grade.py", *GRADERS, *SOURCE]
CACHE = cache_dir()  # the judge's (expected values, sysconfig copies): outside the kit
WRITES = [
    ROOT / "nb74-pwned",
    ROOT / "autograder" / "nb74-pwned",
    ROOT / "autograder" / "graders" / "nb74-pwned",
    CACHE / "nb74-pwned",
]


def probe(judge_pid: int) -> str:
    return f"""
import ctypes, os, signal, socket
READ, LISTED, WROTE, REACHED = [], [], [], []
for p in {[str(p) for p in SECRETS]!r}:
    try:
        open(p, 'rb').read(1); READ.append(p)
    except OSError:
        pass
for d in {[str(ROOT), str(ROOT / "autograder"), str(ROOT / "source"), str(ROOT / "solutions"), str(CACHE)]!r}:
    try:
        os.listdir(d); LISTED.append(d)
    except OSError:
        pass
for p in {[str(p) for p in WRITES]!r}:
    try:
        open(p, 'x').close(); WROTE.append(p)
    except OSError:
        pass
try:
    open({str(NB74.rubric_path)!r}, 'a').close(); WROTE.append('rubric (append)')
except OSError:
    pass
try:
    socket.create_connection(('127.0.0.1', 22), timeout=1); REACHED.append('network')
except OSError:
    pass
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM); REACHED.append('inet socket')
except OSError:
    pass
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
if libc.ptrace(0x4206, {judge_pid}, None, None) == 0:  # PTRACE_SEIZE the judge
    REACHED.append('ptrace judge')
try:
    os.kill({judge_pid}, 0); REACHED.append('signal judge')
except OSError:
    pass
for p in ('/proc/{judge_pid}/environ', '/proc/{judge_pid}/mem'):
    try:
        open(p, 'rb').read(1); REACHED.append(p)
    except OSError:
        pass
"""


@pytest.fixture(autouse=True)
def no_files_left():
    yield
    left = [p for p in WRITES if p.exists()]
    for p in left:
        p.unlink()
    assert not left, f"the student wrote {left}"


def check(proc: StudentProcess) -> None:
    make_cache_dir()  # as after a grade under bwrap
    assert [o.ok for o in proc.load([("probe", probe(os.getpid()), True)])] == [True], proc.outcomes
    with proc.part_session() as s:
        seen = {name: [str(x) for x in s.var(name)] for name in ("READ", "LISTED", "WROTE", "REACHED")}
    assert seen == {"READ": [], "LISTED": [], "WROTE": [], "REACHED": []}
    layers = proc.confinement.layers
    assert proc.confinement.level == "process" and {"landlock", "seccomp"} <= set(layers), proc.confinement
    if os.getuid() == 0:
        assert {"uid-nobody", "no-caps"} & set(layers), proc.confinement


def test_one_shot_process_level_keeps_the_kit_out_of_reach():
    with StudentProcess(isolation="process") as proc:
        check(proc)


def test_fork_server_process_level_keeps_the_kit_out_of_reach():
    with ForkServer("process") as server:
        for _ in range(2):  # the first zygote and one after a clean-up
            with StudentProcess(server=server) as proc:
                check(proc)


def test_cli_grade_records_the_layers_in_effect(tmp_path):
    out = tmp_path / "r.json"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(SOLUTION), "--isolation", "process", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["score"] == results["max_score"]  # the solution still earns everything
    layers = results["isolation"].split("+")
    assert layers[0] == "process" and {"landlock", "seccomp"} <= set(layers), results["isolation"]
    assert results["isolation"] in done.stdout  # the report says it too


LEAVE_SESSION = """
import os, subprocess, sys
try:
    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', '{marker}-setsid'], start_new_session=True)
    LEFT = ['start_new_session']
except OSError:
    LEFT = []
child = subprocess.Popen([sys.executable, '-c',
                          'import os, time\\ntry:\\n    os.setpgid(0, 0)\\nexcept OSError:\\n    pass\\ntime.sleep(600)',
                          '{marker}-setpgid'])
"""


def running(marker: str) -> bool:
    return bool(subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.strip())


@pytest.mark.parametrize("server", [False, True], ids=["one-shot", "fork-server"])
def test_no_process_leaves_the_group_the_judge_kills(server):
    """Without a PID namespace the judge kills the student's process group: setsid and setpgid are
    refused, so nothing the submission starts outlives it."""
    marker = f"nb74-escape-{os.getpid()}-{server}"
    fs = ForkServer("process") if server else None
    try:
        with StudentProcess(isolation="process", server=fs) as proc:
            assert [o.ok for o in proc.load([("leave", LEAVE_SESSION.format(marker=marker), True)])] == [True]
            with proc.part_session() as s:
                left = [str(x) for x in s.var("LEFT")]
            assert running(f"{marker}-setpgid")
        if fs is not None:
            with StudentProcess(server=fs) as nxt:  # the master kills the last zygote's group first
                nxt.load([("a", "A = 1", True)])
        deadline = time.monotonic() + 5
        while running(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left == [] and not running(marker)
    finally:
        if fs is not None:
            fs.close()
        for pid in subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split():
            os.kill(int(pid), signal.SIGKILL)  # what escaped (an unfixed judge)
