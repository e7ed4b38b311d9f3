"""The judge's side of the trust boundary: start the student process, load cells, talk to objects.

    with StudentProcess() as proc:
        report = proc.load(cells)                 # [(grade_id, source, run)], per-cell outcome
        with proc.part_session() as s:            # a forked child for one graded part
            lin = s.new("Linear", 3, 2)
            y = lin.forward(x); dx = lin.backward(dout)

A long-lived judge passes `StudentProcess(server=ForkServer())`: one sandbox whose master has
NumPy imported forks each submission's zygote in milliseconds instead of a new bwrap + Python.

Everything coming back is data (JSON and raw numeric arrays, never pickle) and is coerced to float64 on this
side. A call that raises, hangs or kills the process becomes a StudentError whose message is
Japanese and names the student's own line; it never takes the judge down.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .sandbox import protocol, requests, seccomp

if TYPE_CHECKING:  # NumPy is imported where first needed: the CLI launches the student before it
    import numpy as np

RUNNER_DIR = Path(__file__).resolve().parent / "sandbox"
STARTUP_TIMEOUT = 20.0
CALL_TIMEOUT = 5.0
CELL_TIMEOUT = 10.0
MASTER_TIMEOUT = 10.0  # the fork server's kill + clean-up before a new zygote
MEMORY_BYTES = 1 << 30
MAX_SKIPS = 3  # statements of one cell that may hang or exit before the whole cell is given up
PRELOAD_BYTES = 64 << 10  # cells sent ahead must fit in the socket's buffer (never wait to send)
# The largest array the judge takes from the student (elements): the graders' own arrays have at
# most a few dozen, an exercise's recorded setup a few hundred. Anything larger is refused when it
# arrives, before it is converted or kept (a 60 MiB bool array would be 480 MiB as float64).
MAX_ELEMENTS = 1 << 20
# Wall-clock budget of one graded part, judge and student time together (JudgePlugin sets it).
PART_BUDGET = 30.0


class StudentError(Exception):
    """Something the student's code did; `str()` is the Japanese message for the student."""


class StudentTimeout(StudentError):
    pass


class StudentCrashed(StudentError):
    pass


class LoadInterrupted(Exception):
    """A cell hung or killed the process; `at` is (statement index, line) of the last one started."""

    def __init__(self, timeout: bool, at: tuple[int, int] | None):
        super().__init__(timeout, at)
        self.timeout, self.at = timeout, at


class Missing(StudentError):
    """A class, variable or attribute the judge asked for does not exist."""


# --- what the student process sends is untrusted text: bounded and cleaned on this side ---------
TEXT_LIMITS = {"type": 60, "message": 200, "function": 60, "code": 120, "cell": 60}
RECEIVED_TEXT_LIMIT = 200  # any other string in a reply (class names, dict keys, ...)
# Control characters (but newline and tab), lone surrogates, bidi overrides and other format characters
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
# A number with 4 or more significant digits: how a hidden input or expected value would be spelled
_LONG_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _significant_digits(number: str) -> int:
    mantissa = re.split("[eE]", number.lstrip("+-"))[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits if "." in mantissa else digits.rstrip("0"))


def clean_text(value: Any, limit: int) -> str:
    """Student-controlled text as it may be shown: printable, at most `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    text = _UNPRINTABLE.sub("", text[: 4 * limit + 16])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def student_text(value: Any, limit: int) -> str:
    """clean_text, with every long number (4+ significant digits) masked: code that runs on the
    hidden inputs can put them into an exception's type name or message, never into feedback."""
    text = clean_text(value, 4 * limit)
    text = _LONG_NUMBER.sub(lambda m: m.group(0) if _significant_digits(m.group(0)) < 4 else "…", text)
    return clean_text(text, limit)


def received(value: Any, depth: int = 0) -> Any:
    """A reply from the student process made safe to keep: strings bounded and cleaned, arrays over
    MAX_ELEMENTS replaced by {"$big": [dtype, shape]} before anything converts or keeps them."""
    import numpy as np

    if isinstance(value, str):
        return student_text(value, RECEIVED_TEXT_LIMIT)
    if isinstance(value, np.ndarray):
        return value if value.size <= MAX_ELEMENTS else {"$big": [value.dtype.str, list(value.shape)]}
    if depth > 32:
        return None
    if isinstance(value, list):
        return [received(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {student_text(k, RECEIVED_TEXT_LIMIT): received(v, depth + 1) for k, v in value.items()}
    return value


def _where(err: dict) -> str:
    w = err.get("where")
    if not isinstance(w, dict):
        return ""
    f = {k: student_text(w.get(k, ""), TEXT_LIMITS[k]) for k in ("cell", "function", "code")}
    return f"（セル {f['cell']} の {f['function']}、{student_text(w.get('line', ''), 12)} 行目: {f['code']}）"


def error_message(err: dict, what: str) -> str:
    kind = student_text(err.get("type", "Error"), TEXT_LIMITS["type"])
    msg = student_text(err.get("message", ""), TEXT_LIMITS["message"])
    if kind == "NotImplementedError":
        return f"{what} はまだ実装されていません（NotImplementedError）{_where(err)}"
    if kind == "UnsendableValue":
        return f"{what} の結果を採点側に送れません（NumPy の数値配列・数値・リスト・辞書にしてください。詳細: {msg}）"
    if kind == "MemoryError":
        return f"{what} でメモリが足りなくなりました（上限 {MEMORY_BYTES >> 20} MiB）{_where(err)}"
    return f"{what} で例外 {kind}: {msg} が発生しました{_where(err)}"


def bwrap_available() -> bool:
    path = shutil.which("bwrap")
    if not path:
        return False
    try:
        done = subprocess.run(
            [
                path,
                "--unshare-all",
                "--uid",
                "65534",
                "--gid",
                "65534",
                "--cap-drop",
                "ALL",
                "--ro-bind",
                "/",
                "/",
                "true",
            ],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def isolation_level(requested: str = "auto") -> str:
    """'bwrap' (namespaces, no network, no view of the graders) or 'process' (rlimits only)."""
    if requested == "process":
        return "process"
    if bwrap_available():
        return "bwrap"
    if requested == "bwrap" or os.environ.get("CI") == "true":
        raise RuntimeError("bubblewrap (bwrap) is required to grade here but is not usable")
    print("warning: bubblewrap not usable; student code runs with rlimits only", file=sys.stderr)
    return "process"


NOBODY = 65534
SANDBOX_PYTHON = "/python"  # where a relocated interpreter is seen in the sandbox (no host path)
TMP_BYTES = 64 << 20  # the sandbox's /tmp (working folder included): tmpfs, i.e. memory
SHM_BYTES = 16 << 20  # its /dev/shm (POSIX shared memory, multiprocessing)
CACHE_DIR = Path(__file__).resolve().parent / ".cache" / "sandbox"  # the judge's, never bound


def _runner_env() -> dict[str, str]:
    """The scrubbed environment: the runner's, and bwrap's own (which its PID 1 would show)."""
    threads = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        "RUNNER_MEMORY_BYTES": str(MEMORY_BYTES),
        **threads,
    }


def _sandbox_env(level: str) -> dict[str, str]:
    """The runner's environment at `level`."""
    env = _runner_env()
    if level == "bwrap" and _relocated():
        env["LD_LIBRARY_PATH"] = f"{SANDBOX_PYTHON}/lib"  # libpython's RUNPATH names the host prefix
    if level != "bwrap" and _nobody_can_run_python():
        env["RUNNER_UID"] = str(NOBODY)  # runner.drop_privileges
    return env


def _relocated() -> bool:
    """The interpreter is shown at /python: its real prefix is not a system one (pyenv, a hosted
    tool cache); Debian's /usr stays where it is."""
    return not (sys.base_prefix == "/usr" or sys.base_prefix.startswith("/usr/"))


def _nobody_can_run_python() -> bool:
    """As root: can uid 65534 reach the interpreter, its packages and the runner (every folder on
    the way searchable by others)? If not ('process' level), the runner keeps uid 0 without
    capabilities."""
    if os.getuid() != 0:
        return False
    for target in {sys.base_prefix, sys.prefix, os.path.realpath(sys.executable), str(RUNNER_DIR)}:
        path = Path(target)
        for folder in [path, *path.parents] if path.is_dir() else path.parents:
            if not os.stat(folder).st_mode & 0o001:
                return False
    return True


def _give_to_runner(folder: str) -> None:
    """A 'process'-level working folder, writable by the uid the runner drops to."""
    if _nobody_can_run_python():
        os.chown(folder, NOBODY, NOBODY)


def _sanitized_sysconfig() -> list[str]:
    """bwrap binds hiding the interpreter's build prefix (sysconfig's variables, its Makefile):
    a rewritten copy of _sysconfigdata and an empty folder over config-3.X, kept in CACHE_DIR."""
    import sysconfig

    lib = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    original = lib / f"{sysconfig._get_sysconfigdata_name()}.py"
    inside = f"{SANDBOX_PYTHON}/{lib.relative_to(sys.base_prefix)}"
    binds: list[str] = []
    try:
        binds += _sysconfig_copy(original, f"{inside}/{original.name}")
        empty = CACHE_DIR / "empty"
        empty.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only kit: the build prefix stays visible there (README, Isolation)
        return binds
    for config in lib.glob("config-*"):
        binds += ["--ro-bind", str(empty), f"{inside}/{config.name}"]
    return binds


def _sysconfig_copy(original: Path, inside: str) -> list[str]:
    """The bind of a copy of _sysconfigdata naming /python instead of the build prefix."""
    name = original.name
    if original.is_file():
        version = f"{sys.version_info.major}{sys.version_info.minor}-{os.stat(original).st_mtime_ns}"
        copy = CACHE_DIR / version / name
        if not copy.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            text = original.read_text(encoding="utf-8").replace(sys.base_prefix, SANDBOX_PYTHON)
            tmp = copy.with_suffix(f".{os.getpid()}")
            tmp.write_text(text, encoding="utf-8")
            os.chmod(tmp, 0o644)
            os.replace(tmp, copy)
        return ["--ro-bind", str(copy), inside]
    return []


def _python_binds() -> tuple[list[str], str]:
    """bwrap binds of the interpreter and its packages, and the interpreter's path inside.

    Relocated: the base installation at /python, the venv's site-packages over its own, so that
    sys.prefix, sys.path, module files and sysconfig name /python only. Else (Debian's Python
    under /usr) as before: the venv, if any, at its own path."""
    import sysconfig

    if not _relocated():
        binds = [] if sys.prefix == sys.base_prefix else ["--ro-bind", sys.prefix, sys.prefix]
        return binds, sys.executable
    binds = ["--ro-bind", sys.base_prefix, SANDBOX_PYTHON]
    site = sysconfig.get_path("purelib")
    base_site = sysconfig.get_path("purelib", vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
    if site != base_site:  # a venv
        binds += ["--ro-bind", site, f"{SANDBOX_PYTHON}/{Path(base_site).relative_to(sys.base_prefix)}"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return binds + _sanitized_sysconfig(), f"{SANDBOX_PYTHON}/bin/{version}"


def _bwrap_command(runner_args: list[str], as_pid_1: bool = False) -> list[str]:
    """A filesystem view with the interpreter, its packages and the runner folder, nothing else.

    No /proc (bwrap's environment and arguments, the mount table with host paths), / and /dev
    read-only, /tmp and /dev/shm size-capped tmpfs (their files are memory RLIMIT_AS does not
    count). The working folder is /tmp/work (the fork server's master makes its own).
    as_pid_1: the runner is PID 1 (no bwrap init)."""
    python_binds, python = _python_binds()
    cmd = [
        "bwrap",
        *(["--as-pid-1"] if as_pid_1 else []),
        "--unshare-all",
        "--uid",
        str(NOBODY),
        "--gid",
        str(NOBODY),
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--dev",
        "/dev",
        "--size",
        str(TMP_BYTES),
        "--tmpfs",
        "/tmp",
        "--size",
        str(SHM_BYTES),
        "--tmpfs",
        "/dev/shm",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for link in ("bin", "lib", "lib64", "sbin"):
        p = Path("/") / link
        if p.is_symlink():
            cmd += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            cmd += ["--ro-bind", str(p), str(p)]
    cmd += python_binds
    cmd += ["--ro-bind", str(RUNNER_DIR), "/runner"]
    cmd += ["--chdir", "/tmp"] if as_pid_1 else ["--dir", "/tmp/work", "--chdir", "/tmp/work"]
    cmd += ["--remount-ro", "/dev", "--remount-ro", "/"]
    for k, v in _sandbox_env("bwrap").items():
        cmd += ["--setenv", k, v]
    return cmd + ["--", python, "-I", "-B", "/runner/runner.py", *runner_args]


def _launch(
    level: str, args: list[str], output: Any, workdir: str, master: bool = False
) -> tuple[subprocess.Popen, socket.socket]:
    """Start `runner.py ARGS FILTER...` sandboxed at `level`; "{fd}" in ARGS becomes the control
    socket's fd, each FILTER a pipe the seccomp programs (seccomp.programs(), built here, outside
    the sandbox) are written to once the runner is started, so that it imports NumPy meanwhile:
    the main filter, and at 'process' level the setsid/setpgid one it stacks (runner.main).
    A fork server's master gets no host working folder and is PID 1 of bwrap's PID namespace.
    bwrap itself gets the sandbox's scrubbed environment, never the judge's."""
    judge_end, runner_end = socket.socketpair()
    fd = runner_end.fileno()
    pipes = [os.pipe() for _ in range(1 if level == "bwrap" else 2)]
    runner_args = [a.format(fd=fd) for a in args] + [str(r) for r, _ in pipes]
    if level == "bwrap":
        cmd, env = _bwrap_command(runner_args, as_pid_1=master), _runner_env()
    else:
        _give_to_runner(workdir)
        cmd = [sys.executable, "-I", "-B", str(RUNNER_DIR / "runner.py"), *runner_args]
        env = _sandbox_env(level)
    try:
        popen = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            cwd=workdir,
            env=env,
            pass_fds=(fd, *(r for r, _ in pipes)),
            start_new_session=True,
        )
    except BaseException:
        for _, w in pipes:
            os.close(w)
        raise
    finally:
        runner_end.close()
        for r, _ in pipes:
            os.close(r)
    _send_filters([w for _, w in pipes])
    return popen, judge_end


def _send_filters(ends: list[int]) -> None:
    """Write the seccomp programs to the runner's pipes and close them (nothing written: no
    seccomp layer, which the runner then does not report). Each fits in a pipe's buffer."""
    filters = seccomp.programs() or ()
    for i, end in enumerate(ends):
        try:
            if i < len(filters):
                os.write(end, filters[i])
        except OSError:  # the runner is already gone: its hello will say so
            pass
        finally:
            os.close(end)


def _hello(control: socket.socket) -> list[str]:
    """Wait for the runner's hello; the isolation layers it put in place (runner.confine)."""
    hello = protocol.recv(control, time.monotonic() + STARTUP_TIMEOUT)
    if not hello.get("ready"):
        raise RuntimeError("student runner did not start")
    layers = hello.get("layers")
    return [str(x) for x in layers] if isinstance(layers, list) else []


def _kill_group(popen: subprocess.Popen) -> None:
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    popen.wait()


class ForkServer:
    """One sandbox for many submissions, one at a time: its master (runner.py --master) has NumPy
    imported and, for each StudentProcess, kills every process left in the sandbox, restores its
    writable folders and forks a fresh zygote. A dead, stuck or unclean master is replaced.

        with ForkServer() as server:
            for path in paths:
                results = grade_notebook(path, server=server)

    Student output goes to each StudentProcess's own size-capped file, whose descriptor travels
    with the zygote's control socket (SCM_RIGHTS), as it is the runner's stdout in one-shot mode."""

    def __init__(self, isolation: str = "auto"):
        self.level = isolation_level(isolation)
        self.popen: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.workdir: str | None = None
        self.log = tempfile.TemporaryFile()  # the master's own output (its crashes)
        self.generation = 0  # of the newest zygote; an older StudentProcess cannot clear it
        self.starts = 0

    def start(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix="nb74-server-")  # 'process' mode's scratch folder
        self.popen, self.control = _launch(
            self.level, ["--master", "{fd}", self.level], self.log, self.workdir, master=True
        )
        self.starts += 1
        _hello(self.control)  # each zygote reports its layers to its StudentProcess

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        """Kill the sandbox (under bwrap everything in it dies with its PID 1, the master)."""
        if self.popen is not None:
            _kill_group(self.popen)
            self.popen = None
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def close(self) -> None:
        self.stop()
        self.log.close()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _ask(self, req: dict, fds: list[int] = ()) -> dict:
        protocol.send(self.control, req)
        if fds:
            socket.send_fds(self.control, [b"Z"], fds)
        return protocol.recv(self.control, time.monotonic() + MASTER_TIMEOUT)

    def zygote(self, output: Any) -> tuple[socket.socket, int]:
        """A new zygote's control socket (it sends the usual hello) and its generation number."""
        for _ in range(2):
            judge_end, zygote_end = socket.socketpair()
            try:
                with zygote_end:
                    if not self.alive():
                        self.stop()
                        self.start()
                    reply = self._ask({"op": "zygote"}, [zygote_end.fileno(), output.fileno()])
                if reply.get("clean"):
                    self.generation += 1
                    return judge_end, self.generation
            except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError, RuntimeError):
                pass
            judge_end.close()
            self.stop()  # dead, stuck or could not clean up: a new sandbox
        raise RuntimeError("the fork server could not start a student process")

    def clear(self, generation: int) -> None:
        """End what zygote `generation` left (processes, files) unless a newer one took over."""
        if generation != self.generation or not self.alive():
            return
        try:
            if self._ask({"op": "clear"}).get("clean"):
                return
        except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError):
            pass
        self.stop()


def step_reply(replies: list[dict], error: StudentError | None, i: int) -> dict:
    """Reply i of PartSession.steps; raises the error that stopped the student before step i."""
    if i < len(replies):
        return replies[i]
    # without an error the student stopped at a "missing" reply, which callers raise before
    raise error or StudentError(f"ステップ {i + 1} は実行されませんでした")


def _hung_up(sock: socket.socket) -> bool:
    """True if the other end of an idle channel is gone (it never writes unasked)."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except OSError:
        return True


def _exec_request(cell: str, source: str, run: bool, skip: Sequence[int] = ()) -> bytes:
    """The frame asking the zygote to run a cell, skipping the top-level statements in skip."""
    return protocol.encode({"op": "exec", "cell": cell, "source": source, "run": run, "skip": list(skip)})


@dataclass
class CellOutcome:
    cell: str
    ok: bool
    message: str = ""


def too_big(value: Any) -> tuple[str, list[int]] | None:
    """(dtype, shape) of an array received() refused, else None."""
    if isinstance(value, dict) and set(value) == {"$big"} and isinstance(value["$big"], list):
        return tuple(value["$big"][:2]) if len(value["$big"]) == 2 else ("?", [])
    return None


def as_float_array(value: Any, what: str) -> np.ndarray:
    """Coerce a returned value to a float64 array or explain (in Japanese) why it is not one.
    The size is checked before any conversion."""
    import numpy as np

    big = too_big(value)
    if big is not None or (isinstance(value, np.ndarray) and value.size > MAX_ELEMENTS):
        shape = tuple(big[1]) if big is not None else value.shape
        raise StudentError(f"{what} が大きすぎます（形状 {clean_text(shape, 60)}、上限 {MAX_ELEMENTS} 要素）")
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(np.float64)
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":
        raise StudentError(f"{what} が複素数の配列です（dtype {value.dtype}）")
    if value is None:
        raise StudentError(f"{what} が None です（値を return していますか？）")
    if isinstance(value, dict) and "$obj" in value:
        raise StudentError(f"{what} が配列ではありません（型 {student_text(value['$obj'], TEXT_LIMITS['type'])}）")
    if isinstance(value, list):
        try:
            out = np.asarray(value, dtype=np.float64)
            if out.size <= MAX_ELEMENTS:
                return out
        except (TypeError, ValueError):
            pass
    raise StudentError(f"{what} が数値の配列ではありません（{type(value).__name__}）")


class RemoteObject:
    """A student object living in the student process; methods go through the channel."""

    def __init__(self, session: PartSession, handle: int, class_name: str):
        self.session, self.handle, self.class_name = session, handle, class_name
        self.last_args_changed: list[bool] = []
        self.last_args_after: list[Any] = []  # the array arguments as the call left them
        self.last_forward_calls = 0
        self.last_fetched: dict[str, Any] = {}

    def call(self, method: str, *args: Any, fetch: tuple[str, Sequence[str]] | None = None) -> Any:
        """obj.method(*args); fetch=(attr, keys) also brings back obj.attr[key] as it is right after
        the call (in last_fetched, keys that are missing left out), saving a round trip per key."""
        req, what = requests.call(self.handle, self.class_name, method, *args, fetch=fetch)
        return self.take_reply(self.session.request(req, what))

    call_request = staticmethod(requests.call)
    get_request = staticmethod(requests.get)
    update_request = staticmethod(requests.update)

    def take_reply(self, reply: dict) -> Any:
        """The result of a call's reply; what the runner observed goes to the last_* attributes."""
        changed, after = reply.get("args_changed", []), reply.get("args_after", [])
        self.last_args_changed = [bool(c) for c in changed] if isinstance(changed, list) else []
        self.last_args_after = after if isinstance(after, list) else []
        try:
            self.last_forward_calls = max(0, int(reply.get("forward_calls", 0)))
        except (TypeError, ValueError, OverflowError):
            self.last_forward_calls = 0
        fetched = reply.get("fetched")
        self.last_fetched = fetched if isinstance(fetched, dict) else {}
        return reply.get("result")

    def forward(self, *args: Any) -> np.ndarray:
        return forward_output(self.call("forward", *args), self.class_name)

    def backward(self, *args: Any) -> np.ndarray:
        return as_float_array(self.call("backward", *args), f"{self.class_name}.backward の戻り値")

    def forward_value(self, *args: Any) -> float:
        """For losses: the scalar a forward returns."""
        return loss_value(self.call("forward", *args), self.class_name)

    def get(self, attr: str, key: str | None = None) -> Any:
        reply = self.session.request(*self.get_request(self.handle, self.class_name, attr, key))
        if reply.get("missing"):
            raise Missing(f"{self.class_name}.{attr}[{key!r}] がありません")
        return reply.get("value")

    def update(self, attr: str, items: dict[str, Any]) -> None:
        """obj.attr[key] = value for each item, in one round trip."""
        self.session.request(*self.update_request(self.handle, self.class_name, attr, items))


def forward_output(raw: Any, class_name: str) -> np.ndarray:
    return as_float_array(raw, f"{class_name}.forward の戻り値")


def loss_value(raw: Any, class_name: str) -> float:
    """For losses: the scalar a forward returns."""
    value = as_float_array(raw, f"{class_name}.forward の戻り値")
    if value.size != 1:
        raise StudentError(f"{class_name}.forward の戻り値がスカラーではありません（形状 {value.shape}）")
    return float(value.reshape(()))


# --- the wall-clock budget of the part being graded ------------------------------------------------
_part_deadline: float | None = None


@contextmanager
def part_budget(deadline: float | None) -> Iterator[None]:
    """Within the block, student calls and the judge's own loops (check_budget) end at `deadline`."""
    global _part_deadline
    saved, _part_deadline = _part_deadline, deadline
    try:
        yield
    finally:
        _part_deadline = saved


def part_time_left() -> float | None:
    return None if _part_deadline is None else _part_deadline - time.monotonic()


def budget_message() -> str:
    return (
        f"この部分の採点が制限時間（{PART_BUDGET:g} 秒）を超えたため打ち切りました。配列や設定が課題より"
        "大きすぎないか、処理が遅すぎないかを確認してください。この部分の残りのテストは実行できません"
    )


class OverBudget(StudentTimeout):
    """The part's wall-clock budget is spent."""


def check_budget() -> None:
    """Called in the judge's long loops (central differences, an exercise's re-run)."""
    if _part_deadline is not None and time.monotonic() > _part_deadline:
        raise OverBudget(budget_message())


class PartSession:
    """One forked student child serving one graded part. Dead after a timeout or crash."""

    def __init__(self, proc: StudentProcess, sock: socket.socket, pid: int):
        self.proc, self.sock, self.pid = proc, sock, pid
        self.dead: str | None = None
        self.timed_out = False

    def request(self, req: dict, what: str, timeout: float = CALL_TIMEOUT) -> dict:
        self._send(req, what)
        reply = self._receive(what, timeout)
        if "error" in reply and isinstance(reply["error"], dict):
            raise StudentError(error_message(reply["error"], what))
        return reply

    def steps(self, steps: list[tuple[dict, str]]) -> tuple[list[dict], StudentError | None]:
        """Several requests in one round trip: (request, what) pairs, run in order by the student
        until the first that fails. A step may name the object made by an earlier one as
        {"h": {"$step": i}}. Each step has its own time limit, as if sent alone.

        Returns the replies received (up to the first that fails, or the first "missing") and the
        error of the failing step, if any, as request() would have raised it."""
        replies: list[dict] = []
        if not steps:
            return replies, None
        self._send({"op": "steps", "steps": [req for req, _ in steps]}, steps[0][1])
        for _, what in steps:
            reply = self._receive(what, CALL_TIMEOUT)
            if "error" in reply and isinstance(reply["error"], dict):
                return replies, StudentError(error_message(reply["error"], what))
            replies.append(reply)
            if reply.get("missing"):
                break
        return replies, None

    def _send(self, req: dict, what: str) -> None:
        if self.dead:
            raise StudentCrashed(self.dead)
        try:
            protocol.send(self.sock, req)
        except OSError:
            self._kill(f"{what} の実行中に学生のプロセスが終了しました（sys.exit / os._exit / メモリ不足など）")
            raise StudentCrashed(self.dead) from None

    def _receive(self, what: str, timeout: float) -> dict:
        left = part_time_left()
        over_budget = left is not None and left < timeout
        if over_budget:
            timeout = max(left, 0.0)
        try:
            reply = protocol.recv(self.sock, time.monotonic() + timeout, spin=self.proc.spin)
        except protocol.ChannelTimeout:
            self.timed_out = True
            self._kill(
                budget_message()
                if over_budget
                else f"{what} が {timeout:g} 秒以内に終わりませんでした（無限ループ？）。この部分の残りのテストは実行できません"
            )
            raise StudentTimeout(self.dead) from None
        except (protocol.ChannelClosed, OSError):
            self._kill(f"{what} の実行中に学生のプロセスが終了しました（sys.exit / os._exit / メモリ不足など）")
            raise StudentCrashed(self.dead) from None
        return received(reply)

    def new(self, class_name: str, *args: Any) -> RemoteObject:
        return self.made(self.request(*self.new_request(class_name, *args)), class_name)

    new_request = staticmethod(requests.new)

    def made(self, reply: dict, class_name: str) -> RemoteObject:
        """The object a "new" reply names."""
        if reply.get("missing"):
            raise Missing(f"クラス {class_name} が定義されていません")
        return RemoteObject(self, int(reply["h"]), class_name)

    def var(self, name: str) -> Any:
        reply = self.request({"op": "var", "name": name}, what=f"変数 {name}")
        if reply.get("missing"):
            raise Missing(f"変数 {name} が定義されていません")
        return reply.get("value")

    def run_exercise(self, cell: str, record: str, timeout: float = CELL_TIMEOUT) -> dict:
        """Execute an exercise cell with `record` (a function) replaced by an argument recorder."""
        return self.request(
            {"op": "exec_recording", "cell": cell, "record": record}, what=f"セル {cell}", timeout=timeout
        )

    def _kill(self, reason: str) -> None:
        self.dead = reason
        self.proc.kill_child(self.pid)
        self.sock.close()

    def close(self) -> None:
        """The child leaves its loop on "exit" (or on the closed socket) and ends itself; one whose
        loop the submission took over goes with the whole student process when grading ends."""
        if not self.dead:
            try:
                protocol.send(self.sock, {"op": "exit"})
            except OSError:
                pass
            self.dead = "closed"
            self.sock.close()

    def __enter__(self) -> PartSession:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass
class StudentProcess:
    """The untrusted process for one submission: a zygote that forks one child per part.

    Without a server the zygote is a new sandboxed Python; with one it is forked by the server's
    master (and the isolation level is the server's)."""

    isolation: str = "auto"
    outcomes: list[CellOutcome] = field(default_factory=list)
    server: ForkServer | None = None
    # Seconds each side polls for the other's next message before blocking (protocol.recv): for a
    # one-shot grade, where the judge and the student each have a core; 0 in batches.
    spin: float = 0.0

    def __post_init__(self) -> None:
        self.level = self.server.level if self.server else isolation_level(self.isolation)
        self.popen: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.generation = 0  # of the server's zygote
        self.layers: list[str] = []  # isolation layers the runner reported (recorded_level)
        self.workdir = None if self.server else tempfile.mkdtemp(prefix="nb74-student-")
        self.output = open(os.path.join(tempfile.mkdtemp(prefix="nb74-out-"), "out.txt"), "wb+")
        self.cells: list[tuple[str, str, bool]] = []
        self.skips: dict[str, set[int]] = {}  # per cell: top-level statements that hung or exited
        self.ready = False
        self.sent_ahead: list[tuple[str, str, bool]] = []  # cells sent by preload(), outcome unread
        self.forks_ahead: list[socket.socket] = []  # part children asked for by preload(), unread
        self.forked: list[tuple[socket.socket, int]] = []  # part children ready for part_session()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Launch the runner without waiting: it imports NumPy while the judge gets ready."""
        self.ready = False
        if self.server is not None:
            self.control, self.generation = self.server.zygote(self.output)
        else:
            self.popen, self.control = _launch(self.level, ["{fd}", self.level], self.output, self.workdir)

    def wait_ready(self) -> None:
        if self.ready:
            return
        self.layers = _hello(self.control)
        self.ready = True

    @property
    def recorded_level(self) -> str:
        """The isolation in effect, for the results: the level and each layer the runner confirmed,
        e.g. 'bwrap+seccomp' or 'process+uid-nobody+landlock+seccomp' (see README, Isolation)."""
        return "+".join([self.level, *self.layers])

    def alive(self) -> bool:
        """Started and, as far as this side can tell, not dead."""
        return self.control is not None and (self.popen is None or self.popen.poll() is None)

    def stop(self) -> None:
        if self.control is None:
            return
        if self.popen is not None:
            _kill_group(self.popen)
            self.popen = None
        else:
            self.server.clear(self.generation)
        self.ready = False
        self.sent_ahead = []
        self._drop_forks()
        self.control.close()
        self.control = None

    def _drop_forks(self) -> None:
        for sock in self.forks_ahead + [sock for sock, _ in self.forked]:
            sock.close()
        self.forks_ahead, self.forked = [], []

    def close(self) -> None:
        self.stop()
        self.output.close()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(os.path.dirname(self.output.name), ignore_errors=True)

    def __enter__(self) -> StudentProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- loading cells -----------------------------------------------------------------------
    def _exec(self, cell: str, source: str, run: bool) -> dict:
        """Run one cell; raise LoadInterrupted naming the statement that hung or killed the process."""
        skip = sorted(self.skips.get(cell, ()))
        if self.sent_ahead:  # load() checked that these are the cells it runs, in order
            self.sent_ahead.pop(0)
        else:
            protocol.send_encoded(self.control, _exec_request(cell, source, run, skip))
        deadline, at = time.monotonic() + CELL_TIMEOUT, None
        while True:
            try:
                reply = protocol.recv(self.control, deadline)
            except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError) as exc:
                raise LoadInterrupted(isinstance(exc, protocol.ChannelTimeout), at) from None
            if "at" not in reply:
                return reply
            at = (int(reply["at"]), int(reply["line"]))

    def preload(self, cells: list[tuple[str, str, bool]], forks: int = 0) -> None:
        """Send the cells now, so that the student runs them while the judge gets ready; load()
        then reads their outcomes. Only when they fit in the socket's buffer, and only first.

        forks: also ask for this many part children, forked once the cells have run (the zygote
        forks them while the judge is still starting); part_session() hands them out."""
        if self.control is None or self.cells or self.sent_ahead:
            return
        frames = b"".join(_exec_request(c, s, r) for c, s, r in cells)
        if len(frames) + forks * 256 > PRELOAD_BYTES:
            return
        protocol.send_encoded(self.control, frames)
        self.sent_ahead = list(cells)
        for _ in range(forks):
            self.forks_ahead.append(self._ask_fork())

    def _ask_fork(self) -> socket.socket:
        """Send one fork request; the zygote answers with the child's pid once it gets there."""
        judge_end, child_end = socket.socketpair()
        with child_end:
            protocol.send(self.control, {"op": "fork", "spin": self.spin})
            socket.send_fds(self.control, [b"F"], [child_end.fileno()])
        return judge_end

    def _collect_forks(self) -> None:
        """After load: read the replies to the forks preload() asked for (the zygote sends them after
        the cells' outcomes). If the zygote was replaced meanwhile, stop() already dropped them."""
        ahead, self.forks_ahead = self.forks_ahead, []
        for i, judge_end in enumerate(ahead):
            try:
                reply = protocol.recv(self.control, time.monotonic() + STARTUP_TIMEOUT, spin=self.spin)
                self.forked.append((judge_end, int(reply["pid"])))
            except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError, KeyError, TypeError, ValueError):
                for sock in ahead[i:]:
                    sock.close()
                self.stop()  # out of step with the zygote: part_session() starts a new one
                return

    def load(self, cells: list[tuple[str, str, bool]]) -> list[CellOutcome]:
        """Execute cells in order (run=False only stores the source for later, e.g. exercises).

        A top-level statement that hangs or kills the process is recorded and skipped: the
        process is restarted with what worked so far and the cell runs again without it, so the
        rest of the cell (say, the class defined above an `os._exit(0)`) still counts."""
        if self.sent_ahead and list(cells[: len(self.sent_ahead)]) != self.sent_ahead:
            self.stop()  # other cells than those sent ahead: start again from a fresh process
        if self.control is None:
            self.spawn()
        self.wait_ready()
        self.cells, self.outcomes = [], []
        for cell, source, run in cells:
            notes: list[str] = []
            for _attempt in range(MAX_SKIPS + 1):
                try:
                    reply = self._exec(cell, source, run)
                    break
                except LoadInterrupted as exc:
                    why = (
                        "実行が終わりませんでした（無限ループ？）"
                        if exc.timeout
                        else "実行中にプロセスが終了しました（sys.exit / os._exit / メモリ不足など）"
                    )
                    where = f" {exc.at[1]} 行目の文" if exc.at else ""
                    notes.append(f"セル {cell}{where}: {why}。この文を飛ばして採点しました")
                    self.stop()
                    self.start()
                    for c, s, r in self.cells:
                        self._exec(c, s, r)
                    if exc.at is None:
                        reply = {"ok": False, "error": None}
                        break
                    self.skips.setdefault(cell, set()).add(exc.at[0])
            else:
                reply = {"ok": False, "error": None}
            if reply.get("error"):
                notes.append(error_message(reply["error"], f"セル {cell}"))
            self.outcomes.append(CellOutcome(cell, not notes, "。".join(notes)))
            self.cells.append((cell, source, run))  # definitions that ran still count
        if self.sent_ahead:  # cells other than those sent ahead: the zygote is out of step
            self.stop()
        elif self.forks_ahead:
            self._collect_forks()
        return self.outcomes

    # -- parts -------------------------------------------------------------------------------
    def part_session(self) -> PartSession:
        """A forked child for one part; a dead zygote is first replaced and given the good cells."""
        for attempt in range(2):
            if attempt or not self.alive():
                self.stop()
                self.start()
                for c, s, r in self.cells:
                    self._exec(c, s, r)
            while self.forked:
                sock, pid = self.forked.pop(0)
                if not _hung_up(sock):
                    return PartSession(self, sock, pid)
                sock.close()  # a child made ahead that died meanwhile (killed by a sibling, say)
            judge_end = None
            try:
                judge_end = self._ask_fork()
                reply = protocol.recv(self.control, time.monotonic() + STARTUP_TIMEOUT, spin=self.spin)
                return PartSession(self, judge_end, int(reply["pid"]))
            except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError):
                if judge_end is not None:
                    judge_end.close()  # a zygote that died unnoticed (possible in server mode)
        raise StudentCrashed("学生のプロセスを起動できませんでした")

    def kill_child(self, pid: int) -> None:
        """Ask the zygote to kill a part child (pids are the sandbox's); restart it if it is stuck."""
        try:
            protocol.send(self.control, {"op": "kill", "pid": pid})
            protocol.recv(self.control, time.monotonic() + 2.0, spin=self.spin)
        except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError):
            self.stop()

    def student_output(self, limit: int = 4000) -> str:
        self.output.flush()
        self.output.seek(0)
        return self.output.read(limit).decode("utf-8", "replace")
