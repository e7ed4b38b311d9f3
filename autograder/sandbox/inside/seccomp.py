"""The seccomp filter for the student process: rules by syscall name, compiled by libseccomp.

Denied with EPERM: network sockets, ptrace and reading or writing other processes' memory, SysV
IPC (shared memory, semaphores, message queues), POSIX message queues, memfd (anonymous tmpfs
memory that RLIMIT_AS does not count when written), new namespaces (unshare, setns, clone with
CLONE_NEW*), bpf, perf_event_open, userfaultfd, io_uring (its operations bypass this filter),
the kernel keyring, and mount. clone3 gets ENOSYS, so that libc falls back to clone, whose flags
a filter can read. A call through another ABI than the native one (i386's int 0x80, x32) kills
the process. Everything else is allowed: NumPy and the runner need none of the above.

Two halves, one on each side of the trust boundary:
- programs(), in the judge (outside the sandbox): pyseccomp (libseccomp2) builds the filters
  from the names below (libseccomp resolves the numbers for the native architecture) and exports
  them as classic BPF, once per judge process. pyseccomp cannot run in the sandbox: it finds
  libseccomp through `ctypes.util.find_library`, which runs `ldconfig -p` and needs
  /etc/ld.so.cache. sandbox/launch.py hands the programs to the runner through pipes.
- install(program), in the sandbox (confine.py, a student-side module): no_new_privs and
  PR_SET_SECCOMP with that ready program, inherited by every fork. No syscall table of ours.
"""

from __future__ import annotations

import errno
import functools
from typing import Any

DENIED = (
    "socket",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "shmget",
    "shmat",
    "shmctl",
    "shmdt",
    "semget",
    "semop",
    "semctl",
    "semtimedop",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    "memfd_create",
    "memfd_secret",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "add_key",
    "request_key",
    "keyctl",
    "mount",
    "umount2",
    "pivot_root",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsmount",
)
# clone's flags that make a namespace (linux/sched.h; os.CLONE_* exist from Python 3.12 only):
# NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
CLONE_NEW = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080)
# 'process' level only (no PID namespace): a process that left the zygote's process group would
# escape the judge's killpg, so the zygote and all it starts stay in theirs (a second filter)
NEW_SESSION = ("setsid", "setpgid")

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
SOCK_FILTER_BYTES = 8  # struct sock_filter


@functools.cache
def programs() -> tuple[bytes, bytes] | None:
    """Judge side: the main filter and the NEW_SESSION one as BPF bytes (built once per process),
    or None where libseccomp or pyseccomp is missing or refuses a rule (no seccomp layer then)."""
    try:
        import tempfile

        import pyseccomp as sc

        eperm = sc.ERRNO(errno.EPERM)

        def export(rules: list[tuple[Any, ...]]) -> bytes:
            flt = sc.SyscallFilter(sc.ALLOW)
            flt.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
            for action, name, *args in rules:
                flt.add_rule(action, name, *args)
            with tempfile.TemporaryFile() as f:
                flt.export_bpf(f)
                f.seek(0)
                return f.read()

        main: list[tuple[Any, ...]] = [(eperm, name) for name in DENIED]
        main += [(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag)) for flag in CLONE_NEW]
        main.append((sc.ERRNO(errno.ENOSYS), "clone3"))
        return export(main), export([(eperm, name) for name in NEW_SESSION])
    except Exception:  # ImportError, RuntimeError (no libseccomp), OSError (a rule refused), ...
        return None


def install(program: bytes) -> bool:
    """Runner side: load a ready BPF program on this process (and all it forks from now on).
    False if there is none or the kernel refuses it. Filters stack: a later one refuses more,
    never less."""
    if not program or len(program) % SOCK_FILTER_BYTES:
        return False
    import ctypes  # here, not on the judge's way to starting the runner

    class _SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // SOCK_FILTER_BYTES, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return bool(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0)
