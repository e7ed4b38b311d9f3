"""Starting the student's process: the isolation level, the bubblewrap command and the runner.

The sandbox sees the interpreter, its packages and one folder of the kit, inside/ (the student
side, bound at /runner), and of an assignment only the student-side folders the judge names
(side.py: its inside/ and public/, at /assignment), nothing of the judge: not the graders, the
rubric, the reference, nor the judge-side modules of this folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from ..course.files import cache_dir, make_cache_dir, write_atomic
from .inside import protocol, seccomp
from .levels import IsolationLevel, IsolationRequest
from .side import ENGINE_ONLY, StudentSide

SANDBOX_DIR = Path(__file__).resolve().parent
INSIDE = SANDBOX_DIR / "inside"  # the student side: what the sandbox sees
CACHE_FOLDER = "sandbox"  # in the judge's cache (course/files.py): a file of it is bound, never the folder
STARTUP_TIMEOUT = 20.0
MEMORY_BYTES = 1 << 30
NOBODY = 65534
SANDBOX_PYTHON = "/python"  # where a relocated interpreter is seen in the sandbox (no host path)
TMP_BYTES = 64 << 20  # the sandbox's /tmp (working folder included): tmpfs, i.e. memory
SHM_BYTES = 16 << 20  # its /dev/shm (POSIX shared memory, multiprocessing)


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


def isolation_level(requested: IsolationRequest = "auto") -> IsolationLevel:
    """'bwrap' (namespaces, no network, no view of the graders) or 'process' (rlimits only)."""
    if requested == "process":
        return "process"
    if bwrap_available():
        return "bwrap"
    if requested == "bwrap" or os.environ.get("CI") == "true":
        raise RuntimeError("bubblewrap (bwrap) is required to grade here but is not usable")
    print("warning: bubblewrap not usable; student code runs with rlimits only", file=sys.stderr)
    return "process"


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


def _sandbox_env(level: str, side: StudentSide = ENGINE_ONLY) -> dict[str, str]:
    """The runner's environment at `level`."""
    env = _runner_env()
    if level == "bwrap" and _relocated():
        env["LD_LIBRARY_PATH"] = f"{SANDBOX_PYTHON}/lib"  # libpython's RUNPATH names the host prefix
    if level != "bwrap" and _nobody_can_run_python(side):
        env["RUNNER_UID"] = str(NOBODY)  # runner.drop_privileges
    return env


def _relocated() -> bool:
    """The interpreter is shown at /python: its real prefix is not a system one (pyenv, a hosted
    tool cache); Debian's /usr stays where it is."""
    return not (sys.base_prefix == "/usr" or sys.base_prefix.startswith("/usr/"))


def _nobody_can_run_python(side: StudentSide = ENGINE_ONLY) -> bool:
    """As root: can uid 65534 reach the interpreter, its packages, the runner and the assignment's
    student side (every folder on the way searchable by others)? If not ('process' level), the
    runner keeps uid 0 without capabilities."""
    if os.getuid() != 0:
        return False
    for target in {sys.base_prefix, sys.prefix, os.path.realpath(sys.executable), str(INSIDE), *map(str, side.folders)}:
        path = Path(target)
        for folder in [path, *path.parents] if path.is_dir() else path.parents:
            if not os.stat(folder).st_mode & 0o001:
                return False
    return True


def _give_to_runner(folder: str, side: StudentSide = ENGINE_ONLY) -> None:
    """A 'process'-level working folder, writable by the uid the runner drops to."""
    if _nobody_can_run_python(side):
        os.chown(folder, NOBODY, NOBODY)


def _sanitized_sysconfig() -> list[str]:
    """bwrap binds hiding the interpreter's build prefix (sysconfig's variables, its Makefile):
    a rewritten copy of _sysconfigdata and an empty folder over config-3.X, kept in the judge's
    cache (cache_dir()/CACHE_FOLDER)."""
    import sysconfig

    lib = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    original = lib / f"{sysconfig._get_sysconfigdata_name()}.py"  # type: ignore[attr-defined]
    inside = f"{SANDBOX_PYTHON}/{lib.relative_to(sys.base_prefix)}"
    binds: list[str] = []
    try:
        binds += _sysconfig_copy(original, f"{inside}/{original.name}")
        empty = make_cache_dir(CACHE_FOLDER, "empty")
    except OSError:  # no writable cache: the build prefix stays visible there (README, Isolation)
        return binds
    for config in lib.glob("config-*"):
        binds += ["--ro-bind", str(empty), f"{inside}/{config.name}"]
    return binds


def _sysconfig_copy(original: Path, inside: str) -> list[str]:
    """The bind of a copy of _sysconfigdata naming /python instead of the build prefix."""
    name = original.name
    if original.is_file():
        version = f"{sys.version_info.major}{sys.version_info.minor}-{os.stat(original).st_mtime_ns}"
        copy = cache_dir() / CACHE_FOLDER / version / name
        if not copy.is_file():
            text = original.read_text(encoding="utf-8").replace(sys.base_prefix, SANDBOX_PYTHON)
            write_atomic(make_cache_dir(CACHE_FOLDER, version) / name, text, mode=0o644)
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


def _bwrap_command(runner_args: list[str], as_pid_1: bool = False, side: StudentSide = ENGINE_ONLY) -> list[str]:
    """A filesystem view with the interpreter, its packages, the runner folder and the assignment's
    student-side folders (side.binds(): its inside/ and public/), nothing else.

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
    cmd += ["--ro-bind", str(INSIDE), "/runner"]  # the engine's student side
    cmd += side.binds()  # and the assignment's: no other folder of the kit is bound
    cmd += ["--chdir", "/tmp"] if as_pid_1 else ["--dir", "/tmp/work", "--chdir", "/tmp/work"]
    cmd += ["--remount-ro", "/dev", "--remount-ro", "/"]
    for k, v in _sandbox_env("bwrap").items():
        cmd += ["--setenv", k, v]
    return cmd + ["--", python, "-I", "-B", "/runner/runner.py", *runner_args]


def launch_runner(
    level: str,
    args: list[str],
    output: IO[bytes],
    workdir: str,
    master: bool = False,
    side: StudentSide = ENGINE_ONLY,
) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """Start `runner.py ARGS SIDE FILTER...` sandboxed at `level`, SIDE the assignment's student side
    (side.runner_arg: the folders as the runner sees them, its handler module); "{fd}" in ARGS becomes the control
    socket's fd, each FILTER a pipe the seccomp programs (seccomp.programs(), built here, outside
    the sandbox) are written to once the runner is started, so that it imports NumPy meanwhile:
    the main filter, and at 'process' level the setsid/setpgid one it stacks (runner.main).
    A fork server's master gets no host working folder and is PID 1 of bwrap's PID namespace.
    bwrap itself gets the sandbox's scrubbed environment, never the judge's."""
    judge_end, runner_end = socket.socketpair()
    fd = runner_end.fileno()
    pipes = [os.pipe() for _ in range(1 if level == "bwrap" else 2)]
    runner_args = [a.format(fd=fd) for a in args] + [side.runner_arg(level)] + [str(r) for r, _ in pipes]
    if level == "bwrap":
        cmd, env = _bwrap_command(runner_args, as_pid_1=master, side=side), _runner_env()
    else:
        _give_to_runner(workdir, side)
        cmd = [sys.executable, "-I", "-B", str(INSIDE / "runner.py"), *runner_args]
        env = _sandbox_env(level, side)
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


def hello(control: socket.socket, deadline: float | None = None) -> list[str]:
    """Wait for the runner's hello (until `deadline`, by default STARTUP_TIMEOUT from now); the
    isolation layers it put in place (runner.confine)."""
    hello = protocol.recv(control, time.monotonic() + STARTUP_TIMEOUT if deadline is None else deadline)
    if not hello.get("ready"):
        raise RuntimeError("student runner did not start")
    layers = hello.get("layers")
    return [str(x) for x in layers] if isinstance(layers, list) else []


def kill_group(popen: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    popen.wait()
