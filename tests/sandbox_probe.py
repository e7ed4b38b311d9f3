"""What a student process can see: a probe run inside it (also run by a separate judge process)."""

from __future__ import annotations

from autograder.sandbox.process import StudentProcess


def probe_seen(proc: StudentProcess, look_for: list[str]) -> list[str]:
    cells = [("probe", PROBE + f"\nFOUND = where({look_for!r})\n", True)]
    assert [o.ok for o in proc.load(cells)] == [True], proc.outcomes
    with proc.part_session() as s:
        return [str(x) for x in s.var("FOUND")]


# Student code: where() lists every readable place holding one of the needles.
PROBE = r'''
import os, sys
def _texts():
    yield "environ", repr(dict(os.environ))
    yield "sys", repr([sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.path,
                       getattr(sys, "_base_executable", ""), os.getcwd(), sys.argv, sys.orig_argv])
    try:
        import sysconfig
        yield "sysconfig", repr(sysconfig.get_config_vars()) + repr(sysconfig.get_paths())
    except Exception as exc:
        yield "sysconfig", repr(exc)
    yield "modules", repr([getattr(m, "__file__", "") for m in list(sys.modules.values())])
    for folder in ("/", "/tmp", "/dev", "/dev/shm", "/run", "/root", "/home"):
        try:
            yield folder, repr(os.listdir(folder))
        except OSError:
            pass
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()] + ["self", "thread-self"]
    except OSError:
        pids = []
    for pid in pids:
        base = f"/proc/{pid}"
        for name in ("environ", "cmdline", "mountinfo", "mounts", "maps", "status", "cgroup", "comm",
                     "stat", "cpuset", "attr/current", "net/unix"):
            try:
                with open(f"{base}/{name}", "rb") as f:
                    yield f"{base}/{name}", f.read(1 << 20).decode("utf-8", "replace")
            except OSError:
                pass
        for link in ("cwd", "exe", "root"):
            try:
                yield f"{base}/{link}", os.readlink(f"{base}/{link}")
            except OSError:
                pass
        try:
            for fd in os.listdir(f"{base}/fd"):
                try:
                    yield f"{base}/fd/{fd}", os.readlink(f"{base}/fd/{fd}")
                except OSError:
                    pass
        except OSError:
            pass
    for name in ("/proc/mounts", "/proc/cmdline", "/etc/mtab"):
        try:
            yield name, open(name).read()
        except OSError:
            pass

def where(needles):
    return sorted({f"{needle} @ {place}" for place, text in _texts() for needle in needles if needle in text})

def exposed(name):
    """What a submission not knowing the secret shows: the value after `name=` wherever it is
    found, and, if any /proc file of a process is readable, that file's start with sys.prefix."""
    found = []
    for place, text in _texts():
        at = text.find(name + "=") if name in text else -1
        if at >= 0:
            found.append(f"{place}: {text[at:at + len(name) + 40]}")
        elif place.startswith("/proc/") and place.rsplit("/", 1)[-1] in ("mountinfo", "cmdline", "environ"):
            found.append(f"{place}: {text[:120]} (prefix {sys.prefix})")
    return found
'''
