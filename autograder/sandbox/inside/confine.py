"""Student side: the limits and isolation layers the runner puts on itself before any student code.

Resource limits, then per level: under bwrap (which gives the namespaces and the filesystem view)
seccomp only; at the 'process' level no privileges, Landlock and seccomp. Every layer is inherited
by each fork. Runs inside the sandbox (this folder is all it sees of the kit): the standard library only.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from pathlib import Path

from . import landlock, seccomp

NOBODY = 65534
PR_CAPBSET_DROP = 24


def set_limits() -> None:
    mem = int(os.environ.get("RUNNER_MEMORY_BYTES", 1 << 30))
    fsize = int(os.environ.get("RUNNER_FILE_BYTES", 8 << 20))
    for res, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails instead of killing


def drop_privileges() -> str | None:
    """As root: become nobody where the judge said the interpreter is reachable by it
    (RUNNER_UID), else keep uid 0 without any capability. The layer's name, None if not root."""
    if os.getuid() != 0:
        return None
    if os.environ.get("RUNNER_UID") == str(NOBODY):
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)  # all capabilities go with uid 0
        return "uid-nobody"
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    cap = 0
    while libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:  # no capability regained by an execve
        cap += 1
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    return "no-caps"


def process_paths(assignment: list[str] | None = None) -> tuple[list[str], list[str]]:
    """What the student may read ('process' level): the interpreter, its packages, this folder (the
    student side only: the judge's modules live in the folder above), the assignment's student-side
    folders the judge named (its inside/ and public/, never its graders), a few system files; and
    write: the working folder."""
    here = os.path.dirname(os.path.abspath(__file__))
    read = sorted({sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))})
    read += [
        "/usr",
        "/lib",
        "/lib64",
        "/bin",
        "/etc/ld.so.cache",
        "/etc/localtime",
        "/dev/null",
        "/dev/zero",
        "/dev/urandom",
        here,
        *(assignment or []),
    ]
    return read, [os.getcwd()]


def confine(level: str, seccomp_filter: bytes, assignment: list[str] | None = None) -> list[str]:
    """Put in place what the level adds inside this process (inherited by every fork) and name
    each layer that took effect; `assignment`: its student-side folders (process_paths). Under bwrap, which gives the namespaces and the filesystem view:
    seccomp (the judge's program). In 'process' mode: no privileges, Landlock, seccomp."""
    layers = []
    if level != "bwrap":
        layer = drop_privileges()
        if layer:
            layers.append(layer)
        read, write = process_paths(assignment)
        kit = Path(__file__).resolve().parents[3]  # the repository: graders, rubric, source, solutions
        exposes_kit = any(kit.is_relative_to(p) for p in read + write)  # then Landlock would not help
        if not exposes_kit and landlock.restrict(read, write):
            layers.append("landlock")
    if seccomp.install(seccomp_filter):
        layers.append("seccomp")
    return layers


def stay_in_session(layers: list[str], session_filter: bytes) -> None:
    """'process' level: this process and all it starts stay in its process group, which the judge
    (one-shot) or the master (fork server) kills as a whole (part of the seccomp layer: the
    judge's second program, stacked on the first). Drops "seccomp" from `layers` if refused."""
    if "seccomp" in layers and not seccomp.install(session_filter):
        layers.remove("seccomp")


def read_filter(fd: int) -> bytes:
    """A seccomp program from the judge: all its pipe carries (nothing if it could not build one)."""
    chunks = []
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)
