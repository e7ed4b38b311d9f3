"""Landlock (Linux >= 5.13, unprivileged): this process and its forks may read only the given
folders and write only the working folder. For the 'process' isolation level, which has no
bubblewrap filesystem view: the repository, the graders, the rubric and the reference stay out of reach.

Through the raw syscalls (ctypes), as Python has no binding. A student-side module, used by confine.py.
"""

from __future__ import annotations

import ctypes
import os
import struct

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # same on x86_64 and aarch64
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

# access rights of ABI 1 (bits 0..12), REFER (ABI 2), TRUNCATE (ABI 3), IOCTL_DEV (ABI 5)
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
ABI1_ALL = (1 << 13) - 1
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only ones a file rule may hold
# ABI 4: TCP bind/connect handled with no rule (denied); ABI 6: no signals or abstract unix
# sockets beyond this domain (the judge, other submissions' processes)
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi() -> int:
    """The kernel's Landlock ABI version, 0 if unavailable (old kernel, disabled, not Linux)."""
    if os.uname().sysname != "Linux" or os.uname().machine not in ("x86_64", "aarch64"):
        return 0
    version = _libc().syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), CREATE_RULESET_VERSION)
    return max(int(version), 0)


def handled_fs(version: int) -> int:
    rights = ABI1_ALL
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict(read: list[str], write: list[str]) -> bool:
    """Allow reading (and executing) beneath `read`, everything beneath `write`, nothing else on the
    filesystem; from ABI 4 no TCP, from ABI 6 no signals or abstract sockets outside. False if
    Landlock is unavailable; then nothing changed."""
    version = abi()
    if version < 1:
        return False
    libc, fs = _libc(), handled_fs(version)
    if version >= 6:
        attr = struct.pack("=QQQ", fs, NET_BIND_TCP | NET_CONNECT_TCP, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL)
    elif version >= 4:
        attr = struct.pack("=QQ", fs, NET_BIND_TCP | NET_CONNECT_TCP)
    else:
        attr = struct.pack("=Q", fs)
    ruleset = libc.syscall(SYS_CREATE_RULESET, attr, ctypes.c_size_t(len(attr)), 0)
    if ruleset < 0:
        return False
    try:
        for paths, rights in ((read, READ), (write, fs)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue  # absent here: nothing to allow
                try:
                    allowed = rights if os.path.isdir(path) else rights & FILE_RIGHTS
                    rule = struct.pack("=Qi", allowed & fs, fd)
                    if libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), RULE_PATH_BENEATH, rule, 0) != 0:
                        return False
                finally:
                    os.close(fd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return False
        return bool(libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), 0) == 0)
    finally:
        os.close(ruleset)
