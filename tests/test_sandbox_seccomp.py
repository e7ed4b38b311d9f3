"""The seccomp filter (autograder/sandbox/inside/seccomp.py) at every level: what it refuses, and that
threads, forks and subprocesses, which NumPy and ordinary submissions use, still work."""

from __future__ import annotations

import pytest

from autograder.sandbox.launch import isolation_level
from autograder.sandbox.process import StudentProcess

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
        assert "seccomp" in proc.confinement.layers


def filtered_calls(stack_session: bool) -> dict:
    """In a forked child of this (judge-side) process: each denied call before and after loading
    the exported program(s) the way the runner does, and what still works. Numbers come from
    libseccomp (first argument -1, the others 0: without the filter each call fails harmlessly
    with EFAULT, EINVAL, EBADF, ENOENT..., never creates anything)."""
    import ctypes
    import errno
    import json
    import os
    import signal

    import pyseccomp as sc

    from autograder.sandbox.inside import seccomp

    nr = {
        name: sc.resolve_syscall(sc.Arch.NATIVE, name)
        for name in (*seccomp.DENIED, *seccomp.NEW_SESSION, "clone", "clone3", "getpid")
    }
    main, session = seccomp.programs()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long

            def call(number: int, *args: int) -> int:
                ctypes.set_errno(0)
                result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))
                return 0 if result >= 0 else ctypes.get_errno()

            def clone(flags: int) -> int:
                ctypes.set_errno(0)
                child = libc.syscall(
                    ctypes.c_long(nr["clone"]),
                    ctypes.c_long(flags | signal.SIGCHLD),
                    ctypes.c_long(0),
                    ctypes.c_long(0),
                    ctypes.c_long(0),
                    ctypes.c_long(0),
                )
                if child == 0:
                    os._exit(0)  # a fork-like clone succeeded: the child leaves at once
                if child > 0:
                    os.waitpid(child, 0)
                    return 0
                return ctypes.get_errno()

            def in_fork(number: int, *args: int) -> int:
                """The errno of a call made by a fresh child (neither group nor session leader)."""
                child = os.fork()
                if child == 0:
                    os._exit(call(number, *args))
                return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])

            before = {name: call(nr[name], -1, 0, 0, 0, 0, 0) for name in seccomp.DENIED}
            loaded = seccomp.install(main) and (not stack_session or seccomp.install(session))
            out = {
                "loaded": loaded,
                "before": before,
                "after": {name: call(nr[name], -1, 0, 0, 0, 0, 0) for name in seccomp.DENIED},
                "clone new": {hex(f): clone(f) for f in seccomp.CLONE_NEW},
                "clone plain": clone(0),
                "clone3": call(nr["clone3"], 0, 0),
                "getpid": libc.syscall(ctypes.c_long(nr["getpid"])) == os.getpid(),
                "setpgid": in_fork(nr["setpgid"], 0, 0),
                "setsid": in_fork(nr["setsid"]),
            }
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = json.loads(f.read())
    os.waitpid(pid, 0)
    out["eperm"], out["enosys"] = errno.EPERM, errno.ENOSYS
    return out


@pytest.mark.parametrize("level", ["bwrap", "process"])
def test_exported_program_denies_what_it_should(level):
    """The programs libseccomp builds, loaded as the runner loads them: every denied call gets
    EPERM (it did not before), clone with any CLONE_NEW* flag too, clone3 ENOSYS; a plain clone
    and getpid work; setsid/setpgid are refused only with the 'process' level's second filter."""
    import os

    out = filtered_calls(stack_session=level == "process")
    assert out["loaded"]
    assert {k: v for k, v in out["after"].items() if v != out["eperm"]} == {}
    if os.getuid() == 0:  # unprivileged, the kernel itself may answer EPERM to some
        assert {k: v for k, v in out["before"].items() if v == out["eperm"]} == {}
    assert set(out["clone new"].values()) == {out["eperm"]}, out["clone new"]
    assert out["clone plain"] == 0 and out["clone3"] == out["enosys"] and out["getpid"]
    expected = [out["eperm"]] * 2 if level == "process" else [0, 0]
    assert [out["setpgid"], out["setsid"]] == expected


def test_another_abi_kills_the_process():
    """An x32 call (number | 0x40000000) from a filtered x86_64 process: killed, as i386's are."""
    import ctypes
    import os
    import platform
    import signal

    from autograder.sandbox.inside import seccomp

    if platform.machine() != "x86_64":
        pytest.skip("x32 exists on x86_64 only")
    main, _ = seccomp.programs()
    pid = os.fork()
    if pid == 0:
        try:
            seccomp.install(main)
            ctypes.CDLL(None).syscall(ctypes.c_long(0x40000000 | 39))  # x32 getpid
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS, status


def test_without_libseccomp_the_layer_is_left_out(monkeypatch):
    """No programs (pyseccomp or libseccomp missing): the runner installs nothing, says so, grades."""
    from autograder.sandbox.inside import seccomp

    monkeypatch.setattr(seccomp, "programs", lambda: None)
    with StudentProcess(isolation="process") as proc:
        assert [o.ok for o in proc.load([("a", "A = 6 * 7", True)])] == [True]
        with proc.part_session() as s:
            assert int(s.var("A")) == 42
        assert "seccomp" not in proc.confinement.layers, proc.confinement
