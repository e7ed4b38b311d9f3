"""Finding 6: shared memory neither escapes the memory limit nor crosses from one submission to the next.

RLIMIT_AS counts mappings, not pages written into SysV segments left detached, memfds or tmpfs
files. The student code here tries each of them beyond the 1 GiB limit while the judge watches
the host's Shmem (/proc/meminfo: SysV shm, memfd and tmpfs pages) and MemAvailable; then a
submission leaves SysV shared memory, a POSIX message queue and /dev/shm files behind in a fork
server, and the next submission looks for them.
"""

from __future__ import annotations

import ctypes
import os

import pytest

from autograder.sandbox.fork_server import ForkServer
from autograder.sandbox.launch import MEMORY_BYTES, SHM_BYTES, TMP_BYTES, isolation_level
from autograder.sandbox.process import StudentProcess

LEVELS = ["bwrap", "process"] if isolation_level("auto") == "bwrap" else ["process"]
KEY = 0x4E420000  # SysV keys KEY.. of these tests (removed from the host afterwards)
CHUNK = 256 << 20
TRY = 5 * CHUNK  # per channel, beyond MEMORY_BYTES
MQ = "/nb74-left"

COMMON = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
IPC_CREAT, FAILED = 0o1000, ctypes.c_void_p(-1).value
GOT = {}
"""

ALLOCATE = {
    "sysv": f"""
got = 0
for i in range({TRY // CHUNK}):
    sid = libc.shmget({KEY} + i, {CHUNK}, IPC_CREAT | 0o600)
    if sid < 0:
        break
    addr = libc.shmat(sid, None, 0)
    if addr in (None, FAILED):
        break
    ctypes.memset(addr, 1, {CHUNK})
    libc.shmdt(addr)   # detached, never removed
    got += {CHUNK}
GOT['sysv'] = got
""",
    "memfd": f"""
got, FDS, block = 0, [], b'x' * (1 << 20)
try:
    while got < {TRY}:
        fd = os.memfd_create('m')
        FDS.append(fd)
        try:
            while got < {TRY}:
                os.write(fd, block)
                got += len(block)
        except OSError as exc:   # EFBIG at RLIMIT_FSIZE: the next memfd
            if exc.errno != 27:
                raise
except OSError:
    pass
GOT['memfd'] = got
""",
    **{
        f"tmpfs {folder}": f"""
got, block, i = 0, b'x' * (1 << 20), 0
try:
    while got < {TRY}:
        with open('{folder}/fill%d' % i, 'wb') as f:
            for _ in range(8):   # 8 MiB files: RLIMIT_FSIZE
                if got >= {TRY}:
                    break
                f.write(block)
                f.flush()
                got += len(block)
        i += 1
except OSError:
    pass
GOT['tmpfs {folder}'] = got
"""
        for folder in ("/tmp", "/dev/shm")
    },
}


def meminfo() -> dict[str, int]:
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            name, value = line.split(":")
            out[name] = int(value.split()[0]) << 10
    return out


def remove_host_ipc() -> None:
    """What a run of these tests on an unfixed judge leaves in the host's IPC namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
    for i in range(TRY // CHUNK + 1):
        sid = libc.shmget(KEY + i, 0, 0)
        if sid >= 0:
            libc.shmctl(sid, 0, None)  # IPC_RMID
    if (sem := libc.semget(KEY, 0, 0)) >= 0:
        libc.semctl(sem, 0, 0)
    if (msg := libc.msgget(KEY, 0)) >= 0:
        libc.msgctl(msg, 0, None)
    libc.mq_unlink(MQ.encode())
    for left in ("/tmp/nb74-left", "/dev/shm/nb74-left"):  # the host's, written by an unconfined 'process' runner
        if os.path.exists(left):
            os.unlink(left)


@pytest.fixture(autouse=True)
def clean_host_ipc():
    yield
    remove_host_ipc()


@pytest.mark.parametrize("level", [lvl for lvl in LEVELS if lvl == "bwrap"])
@pytest.mark.parametrize("server", [False, True], ids=["one-shot", "fork-server"])
def test_shared_memory_beyond_the_limit_fails_and_the_host_does_not_grow(level, server):
    channels = list(ALLOCATE)
    cells = [("common", COMMON, True)] + [(name.replace(" ", "_"), ALLOCATE[name], True) for name in channels]
    before = meminfo()
    fs = ForkServer(level) if server else None
    try:
        with StudentProcess(isolation=level, server=fs) as proc:
            outcomes = proc.load(cells)
            during = meminfo()  # the student's zygote still holds all it got
            with proc.part_session() as s:
                got = {name: int(v) for name, v in s.var("GOT")["$dict"]}
    finally:
        if fs is not None:
            fs.close()
    assert [o.ok for o in outcomes] == [True] * len(cells), [o.message for o in outcomes]
    assert set(got) == set(channels)
    assert got["sysv"] == 0 and got["memfd"] == 0, got  # denied (seccomp)
    assert got["tmpfs /tmp"] <= TMP_BYTES and got["tmpfs /dev/shm"] <= SHM_BYTES, got  # size-capped
    assert during["Shmem"] - before["Shmem"] < MEMORY_BYTES
    assert before["MemAvailable"] - during["MemAvailable"] < MEMORY_BYTES


@pytest.mark.parametrize("level", LEVELS)
def test_kernel_shared_memory_is_refused_at_every_level(level):
    """SysV IPC, POSIX message queues and memfd are refused outright (no cgroup needed for them);
    without bwrap /dev/shm is out of the student's reach too (Landlock)."""
    probe = (
        COMMON
        + f"""
import errno
def refused(call):
    try:
        return call() < 0 and ctypes.get_errno() == errno.EPERM
    except PermissionError:
        return True
    except OSError:
        return False
SEEN = {{'shmget': refused(lambda: libc.shmget({KEY}, 4096, IPC_CREAT | 0o600)),
        'semget': refused(lambda: libc.semget({KEY}, 1, IPC_CREAT | 0o600)),
        'msgget': refused(lambda: libc.msgget({KEY}, IPC_CREAT | 0o600)),
        'mq_open': refused(lambda: libc.mq_open(b'{MQ}', os.O_CREAT | os.O_RDWR, 0o600, None)),
        'memfd_create': refused(lambda: os.memfd_create('m'))}}
try:
    open('/dev/shm/nb74-probe', 'w').close()
    os.unlink('/dev/shm/nb74-probe')
    SEEN['/dev/shm writable'] = True
except OSError:
    SEEN['/dev/shm writable'] = False
"""
    )
    with StudentProcess(isolation=level) as proc:
        assert [o.ok for o in proc.load([("probe", probe, True)])] == [True]
        with proc.part_session() as s:
            seen = {k: bool(v) for k, v in s.var("SEEN")["$dict"]}
    assert all(seen[k] for k in ("shmget", "semget", "msgget", "mq_open", "memfd_create")), seen
    if level == "process":
        assert not seen["/dev/shm writable"]


LEAVE = (
    COMMON
    + f"""
sid = libc.shmget({KEY}, 4096, IPC_CREAT | 0o666)
if sid >= 0:
    addr = libc.shmat(sid, None, 0)
    ctypes.memmove(addr, b'left by the first', 17)
    libc.shmdt(addr)
libc.mq_open(b'{MQ}', os.O_CREAT | os.O_RDWR, 0o666, None)
for folder in ('/dev/shm', '/tmp', '.'):
    try:
        open(folder + '/nb74-left', 'w').write('left by the first')
    except OSError:
        pass
"""
)

LOOK = (
    COMMON
    + f"""
SEEN = []
sid = libc.shmget({KEY}, 0, 0)
if sid >= 0:
    addr = libc.shmat(sid, None, 0)
    SEEN.append('sysv ' + (ctypes.string_at(addr, 17).decode() if addr not in (None, FAILED) else '?'))
if libc.mq_open(b'{MQ}', os.O_RDONLY, 0, None) >= 0:
    SEEN.append('mqueue')
for folder in ('/dev/shm', '/tmp', '.'):
    if os.path.exists(folder + '/nb74-left'):
        SEEN.append(folder)
"""
)


@pytest.mark.parametrize("level", LEVELS)
def test_nothing_shared_reaches_the_next_submission_of_a_fork_server(level):
    with ForkServer(level) as server:
        with StudentProcess(server=server) as first:
            assert [o.ok for o in first.load([("leave", LEAVE, True)])] == [True]
        with StudentProcess(server=server) as second:
            assert [o.ok for o in second.load([("look", LOOK, True)])] == [True]
            with second.part_session() as s:
                seen = [str(x) for x in s.var("SEEN")]
    assert seen == [], seen
