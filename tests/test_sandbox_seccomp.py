"""The seccomp filter (autograder/sandbox/seccomp.py) at every level: what it refuses, and that
threads, forks and subprocesses, which NumPy and ordinary submissions use, still work."""
from __future__ import annotations

import pytest

from autograder.student import StudentProcess, isolation_level

LEVELS = ["bwrap", "process"] if isolation_level("auto") == "bwrap" else ["process"]

PROBE = """
import ctypes, errno, os, socket, subprocess, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
def refused(call):
    try:
        result = call()
    except PermissionError:
        return True
    except OSError:
        return False
    return result == -1 and ctypes.get_errno() == errno.EPERM
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
REFUSED = {
    'unshare user': refused(lambda: libc.unshare(CLONE_NEWUSER)),
    'unshare mount+net': refused(lambda: libc.unshare(CLONE_NEWNS | CLONE_NEWNET)),
    'socket inet': refused(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
    'socket unix': refused(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)),
    'ptrace': refused(lambda: libc.ptrace(16, os.getppid(), None, None)),  # PTRACE_ATTACH
    'bpf': refused(lambda: libc.syscall(321, 0, None, 0)),
    'io_uring_setup': refused(lambda: libc.syscall(425, 1, None)),
    'userfaultfd': refused(lambda: libc.syscall(323, 0)),
}
box = []
t = threading.Thread(target=lambda: box.append(sum(range(10))))
t.start(); t.join()
r, w = os.pipe()
if os.fork() == 0:   # the zygote ignores SIGCHLD (children reaped at once): answer through a pipe
    os.write(w, b'7')
    os._exit(0)
WORKS = {'thread': box == [45], 'fork': os.read(r, 1) == b'7',
         'subprocess': subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True,
                                      text=True).stdout.strip() == '42',
         'socketpair': len(socket.socketpair()) == 2}
"""


@pytest.mark.parametrize("level", LEVELS)
def test_seccomp_refuses_namespaces_sockets_ptrace_and_kernel_interfaces(level):
    with StudentProcess(isolation=level) as proc:
        assert [o.ok for o in proc.load([("probe", PROBE, True)])] == [True], proc.outcomes
        with proc.part_session() as s:
            refused = {k: bool(v) for k, v in s.var("REFUSED")["$dict"]}
            works = {k: bool(v) for k, v in s.var("WORKS")["$dict"]}
        assert all(refused.values()), refused
        assert all(works.values()), works
        assert "seccomp" in proc.recorded_level.split("+")
