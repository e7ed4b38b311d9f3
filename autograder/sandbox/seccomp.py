"""A seccomp filter for the student process, in plain Python (classic BPF through prctl).

Denied with EPERM: network sockets, ptrace and reading or writing other processes' memory, SysV
IPC (shared memory, semaphores, message queues), POSIX message queues, memfd (anonymous tmpfs
memory that RLIMIT_AS does not count when written), new namespaces (unshare, setns, clone with
CLONE_NEW*), bpf, perf_event_open, userfaultfd, io_uring (its operations bypass this filter),
the kernel keyring, and mount. clone3 gets ENOSYS, so that libc falls back to clone, whose flags
a filter can read. Everything else is allowed: NumPy and the runner need none of the above.

pyseccomp is pinned, but it finds libseccomp through `ctypes.util.find_library`, which runs
`ldconfig -p` in a subprocess and needs /etc/ld.so.cache, absent in the sandbox; forty lines of
BPF need neither. Loaded by runner.py by path (no package), inherited by every fork.
"""
from __future__ import annotations

import ctypes
import errno
import os
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
CLONE_NEW_FLAGS = 0x7E020080  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME

# x86_64 syscall numbers (asm/unistd_64.h)
DENIED = {
    "socket": 41, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
    "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71,
    "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244,
    "mq_getsetattr": 245, "memfd_create": 319, "memfd_secret": 447,
    "unshare": 272, "setns": 308, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "add_key": 248, "request_key": 249, "keyctl": 250, "mount": 165, "umount2": 166,
    "pivot_root": 155, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsmount": 432,
}
CLONE, CLONE3 = 56, 435
# 'process' level only (no PID namespace): a process that left the zygote's process group would
# escape the judge's killpg, so the zygote and all it starts stay in theirs
NEW_SESSION = {"setsid": 112, "setpgid": 109}

# classic BPF
LD_W_ABS, JEQ_K, JSET_K, JGE_K, RET_K = 0x20, 0x15, 0x45, 0x35, 0x06
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
NR, ARCH, ARG0_LOW = 0, 4, 16  # offsets in struct seccomp_data
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(denied: dict[str, int] = DENIED) -> bytes:
    """The filter refusing `denied` (and clone's namespace flags), as a sock_filter array's bytes."""
    eperm, enosys = SECCOMP_RET_ERRNO | errno.EPERM, SECCOMP_RET_ERRNO | errno.ENOSYS
    body = [_insn(LD_W_ABS, 0, 0, ARCH),
            _insn(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
            _insn(RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),  # another ABI (i386 int 0x80): no table for it
            _insn(LD_W_ABS, 0, 0, NR),
            _insn(JGE_K, 0, 1, X32_SYSCALL_BIT),
            _insn(RET_K, 0, 0, eperm)]
    for nr in sorted(denied.values()):
        body += [_insn(JEQ_K, 0, 1, nr), _insn(RET_K, 0, 0, eperm)]
    body += [_insn(JEQ_K, 0, 1, CLONE3), _insn(RET_K, 0, 0, enosys),
             _insn(JEQ_K, 0, 3, CLONE),
             _insn(LD_W_ABS, 0, 0, ARG0_LOW),
             _insn(JSET_K, 0, 1, CLONE_NEW_FLAGS),
             _insn(RET_K, 0, 0, eperm),
             _insn(RET_K, 0, 0, SECCOMP_RET_ALLOW)]
    return b"".join(body)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def supported() -> bool:
    return os.uname().sysname == "Linux" and os.uname().machine == "x86_64"


def install(denied: dict[str, int] = DENIED) -> bool:
    """Install the filter on this process (and all it forks from now on). False if not possible.
    Filters stack: a later call refuses more, never less."""
    if not supported():
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    prog = program(denied)
    buf = ctypes.create_string_buffer(prog, len(prog))
    fprog = _SockFprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0
