"""The student process: runs untrusted submission code and answers the judge's requests.

Started by the judge as `python -I -B runner.py FD LEVEL FILTER...` (inside bubblewrap where
available), FD being the control socket's descriptor number, LEVEL 'bwrap' or 'process' (see
confine()) and each FILTER a pipe's descriptor carrying a seccomp program the judge built (see
seccomp.py; empty if it could not): the main one and, at 'process' level, the setsid/setpgid
one. It imports NumPy once, confines itself, executes the given and answer cells it is sent,
then forks one child per graded part; each child serves requests on its own socket. It knows
nothing of the graders, the rubric or the expected values, and sends back plain data only.

`runner.py --master FD LEVEL FILTER...` is a fork server instead (fork_master.py): it never runs
student code and forks a fresh zygote (the loop above) per submission.
"""

from __future__ import annotations

import builtins
import functools
import importlib.util
import linecache
import os
import resource
import signal
import socket
import sys
import traceback
from pathlib import Path

import numpy as np


@functools.cache
def _sibling(name: str):
    """A module of this folder, loaded by path: the runner is a script, not part of a package."""
    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


protocol = _sibling("protocol")

CELL_PREFIX = "<cell "
LAYERS: list[str] = []  # isolation layers this process put in place (confine()), told to the judge
NOBODY = 65534
MAX_SPIN = 0.01  # seconds a part server may poll for the next request before blocking


def set_limits() -> None:
    mem = int(os.environ.get("RUNNER_MEMORY_BYTES", 1 << 30))
    fsize = int(os.environ.get("RUNNER_FILE_BYTES", 8 << 20))
    for res, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails instead of killing


def run_cell(name: str, source: str, ns: dict, skip: frozenset = frozenset(), progress=None) -> None:
    """Execute a cell statement by statement under the file name <cell NAME> (its lines known to
    tracebacks). `progress(i, line)` announces each top-level statement before it runs, so that the
    judge can skip one that hangs or kills the process and still keep the rest of the cell."""
    import ast

    filename = f"{CELL_PREFIX}{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tree = ast.parse(source, filename)
    for i, node in enumerate(tree.body):
        if i in skip:
            continue
        if progress is not None:
            progress(i, node.lineno)
        exec(compile(ast.Module([node], type_ignores=[]), filename, "exec"), ns)


def error_info(exc: BaseException) -> dict:
    """Type, message and the student's own line where it happened (no judge frames exist here)."""
    where = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(CELL_PREFIX):
            where = {
                "cell": frame.filename[len(CELL_PREFIX) : -1],
                "line": frame.lineno,
                "function": str(frame.name)[:100],
                "code": (frame.line or "")[:200],
            }
    try:
        message = str(exc)[:300]
    except BaseException:  # a __str__ that raises: the type still says what happened
        message = ""
    # the judge bounds and cleans all of this again: this process is the student's
    return {"type": str(type(exc).__name__)[:100], "message": message, "where": where}


def describe(value, depth: int = 0):
    """Plain-data view of any student value: arrays, numbers, strings, containers, objects."""
    if depth > 4:
        return {"$obj": type(value).__name__[:100]}
    if value is None or isinstance(value, (bool, str)):
        return value if not isinstance(value, str) else value[:1000]
    if isinstance(value, (int, float, complex, np.generic)):
        return np.asarray(value) if not isinstance(value, np.generic) or value.dtype != object else {"$obj": "object"}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind not in "biufc":
            return {"$obj": f"ndarray[{value.dtype}]"}
        return np.array(value)  # plain ndarray, never a subclass
    if isinstance(value, (list, tuple)):
        return [describe(v, depth + 1) for v in list(value)[:1000]]
    if isinstance(value, dict):
        return {"$dict": [[str(k)[:100], describe(v, depth + 1)] for k, v in list(value.items())[:200]]}
    out = {"$obj": type(value).__name__[:100]}
    for attr in ("layers", "params", "grads"):
        try:
            inner = getattr(value, attr)
        except Exception:
            continue
        if attr == "layers" and not isinstance(inner, (list, tuple)):
            continue
        if attr != "layers" and not isinstance(inner, dict):
            continue
        out[attr] = describe(inner, depth + 1)
    return out


class ForwardWatch:
    """Counts calls to any `forward` of the student's classes while a request runs."""

    def __init__(self, ns: dict):
        self.classes = [v for v in list(ns.values()) if isinstance(v, type) and callable(getattr(v, "forward", None))]
        self.calls = 0
        self.saved = []

    def __enter__(self):
        for cls in self.classes:
            if "forward" in cls.__dict__:
                original = cls.__dict__["forward"]
                self.saved.append((cls, original))

                def counting(*args, __original=original, **kwargs):
                    self.calls += 1
                    return __original(*args, **kwargs)

                cls.forward = counting
        return self

    def __exit__(self, *exc):
        for cls, original in self.saved:
            cls.forward = original


class PartServer:
    """Serves one graded part's requests on its own socket (in a forked child)."""

    def __init__(self, sock: socket.socket, ns: dict, cells: dict[str, str], spin: float = 0.0):
        self.sock, self.ns, self.cells, self.spin = sock, ns, cells, spin
        self.objects: dict[int, object] = {}
        self.recorded: list[dict] = []

    def serve(self) -> None:
        while True:
            try:
                req = protocol.recv(self.sock, spin=self.spin)
            except protocol.ChannelClosed:
                return
            if req.get("op") == "exit":
                return
            self.dispatch(req)

    def dispatch(self, req: dict) -> None:
        if req.get("op") == "steps":
            self.steps(req.get("steps", []))
        else:
            self.answer(req)

    def send(self, reply: dict) -> None:
        protocol.send(self.sock, reply)

    def answer(self, req: dict) -> dict:
        """Handle one request and send its reply (also returned)."""
        try:
            reply = self.handle(req)
        except BaseException as exc:  # the student's code raised (SystemExit too)
            reply = {"error": error_info(exc)}
        try:
            self.send(reply)
        except (TypeError, ValueError) as exc:
            reply = {"error": {"type": "UnsendableValue", "message": str(exc)[:300], "where": None}}
            self.send(reply)
        return reply

    def steps(self, steps: list) -> None:
        """Several requests from one message, each answered as soon as it is done, until the first
        that fails. A step's "h" may be {"$step": i}: the object made by step i of the same message."""
        made: list = []
        for step in steps:
            h = step.get("h")
            if isinstance(h, dict) and "$step" in h:
                step = {**step, "h": made[int(h["$step"])].get("h")}
            reply = self.answer(step)
            made.append(reply)
            if "error" in reply or reply.get("missing"):
                return

    def obj(self, req: dict):
        return self.objects[int(req["h"])]

    def handle(self, req: dict) -> dict:
        op = req.get("op")
        if op == "new":
            cls = self.ns.get(req["cls"])
            if not isinstance(cls, type):
                return {"missing": True}
            obj = cls(*req.get("args", []))
            self.objects[len(self.objects)] = obj
            return {"h": len(self.objects) - 1}
        if op == "call":
            obj = self.obj(req)
            args = [np.array(a) if isinstance(a, np.ndarray) else a for a in req.get("args", [])]
            sent = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
            method = getattr(obj, req["method"])
            with ForwardWatch(self.ns) as watch:
                result = method(*args)
            changed = [
                not (isinstance(a, np.ndarray) and a.shape == s.shape and np.array_equal(a, s, equal_nan=True))
                for a, s in zip(args, sent)
                if isinstance(s, np.ndarray)
            ]
            reply = {
                "result": describe(result),
                "args_changed": changed,
                "forward_calls": watch.calls if req["method"] != "forward" else 0,
            }
            if req.get("echo_args"):  # the judge compares them with what it sent
                reply["args_after"] = [describe(a) for a in args if isinstance(a, np.ndarray)]
            if req.get("fetch"):  # e.g. ["grads", ["W", "b"]]: read right after the call
                attr, keys = req["fetch"]
                container = getattr(obj, attr, None)
                reply["fetched"] = (
                    {k: describe(container[k]) for k in keys if k in container} if isinstance(container, dict) else {}
                )
            return reply
        if op == "get":
            container = getattr(self.obj(req), req["attr"], None)
            if req.get("key") is None:
                return {"value": describe(container)}
            if not isinstance(container, dict) or req["key"] not in container:
                return {"missing": True}
            return {"value": describe(container[req["key"]])}
        if op == "set":
            container = getattr(self.obj(req), req["attr"])
            for key, value in req["items"].items():
                container[key] = np.array(value) if isinstance(value, np.ndarray) else value
            return {}
        if op == "var":
            if req["name"] not in self.ns:
                return {"missing": True}
            return {"value": describe(self.ns[req["name"]])}
        if op == "exec_recording":
            # Run an exercise cell with `record` replaced by a recorder of its arguments, so that
            # grading the exercise never runs the student's backward passes.
            target = req["record"]
            original = self.ns.get(target)

            def recorder(*args, **kwargs):
                self.recorded.append(
                    {"args": [describe(a) for a in args], "kwargs": {k: describe(v) for k, v in kwargs.items()}}
                )
                return True

            self.ns[target] = recorder
            try:
                run_cell(req["cell"], self.cells[req["cell"]], self.ns)
                error = None
            except BaseException as exc:
                error = error_info(exc)
            finally:
                if self.ns.get(target) is recorder:
                    self.ns[target] = original
            return {"error_in_cell": error, "calls": self.recorded}
        return {"error": {"type": "ProtocolError", "message": f"unknown op {op!r}", "where": None}}


def serve(control: socket.socket) -> None:
    """The zygote of one submission: execute its cells, fork one part server per request."""
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    cells: dict[str, str] = {}
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked part servers are reaped automatically
    protocol.send(control, {"ready": True, "pid": os.getpid(), "layers": LAYERS})
    while True:
        try:
            req = protocol.recv(control)
        except protocol.ChannelClosed:
            return
        op = req.get("op")
        if op == "exec":
            cells[req["cell"]] = req["source"]
            try:
                if req.get("run", True):
                    run_cell(
                        req["cell"],
                        req["source"],
                        ns,
                        frozenset(req.get("skip", [])),
                        lambda i, line: protocol.send(control, {"at": i, "line": line}),
                    )
                reply = {"ok": True}
            except BaseException as exc:
                reply = {"ok": False, "error": error_info(exc)}
            protocol.send(control, reply)
        elif op == "fork":
            _, fds, _, _ = socket.recv_fds(control, 1, 1)
            pid = os.fork()
            if pid == 0:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                cpu = int(os.environ.get("RUNNER_PART_CPU_SECONDS", 30))
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
                spin = min(max(float(req.get("spin", 0.0)), 0.0), MAX_SPIN)
                PartServer(socket.socket(fileno=fds[0]), ns, cells, spin).serve()
                os._exit(0)
            os.close(fds[0])
            protocol.send(control, {"pid": pid})
        elif op == "kill":
            try:
                os.kill(int(req["pid"]), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            protocol.send(control, {})
        elif op == "exit":
            return


# --- confinement --------------------------------------------------------------------------------
PR_CAPBSET_DROP = 24


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


def process_paths() -> tuple[list[str], list[str]]:
    """What the student may read ('process' level): the interpreter, its packages, the student-side
    files of this folder (never the judge's modules beside them), a few system files; and write:
    the working folder."""
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
        *(os.path.join(here, name) for name in protocol.SANDBOX_FILES),
    ]
    return read, [os.getcwd()]


def confine(level: str, seccomp_filter: bytes) -> list[str]:
    """Put in place what the level adds inside this process (inherited by every fork) and name
    each layer that took effect. Under bwrap, which gives the namespaces and the filesystem view:
    seccomp (the judge's program). In 'process' mode: no privileges, Landlock, seccomp."""
    layers = []
    if level != "bwrap":
        layer = drop_privileges()
        if layer:
            layers.append(layer)
        read, write = process_paths()
        kit = Path(__file__).resolve().parents[2]  # the repository: graders, rubric, source, solutions
        exposes_kit = any(kit.is_relative_to(p) for p in read + write)  # then Landlock would not help
        if not exposes_kit and _sibling("landlock").restrict(read, write):
            layers.append("landlock")
    if _sibling("seccomp").install(seccomp_filter):
        layers.append("seccomp")
    return layers


def serve_forked_zygote(control: socket.socket) -> None:
    """A zygote the fork server forked: as serve(), with its own entropy as a fresh process would have."""
    np.random.seed()
    serve(control)


def stay_in_session(session_filter: bytes) -> None:
    """'process' level: this process and all it starts stay in its process group, which the judge
    (one-shot) or the master (fork server) kills as a whole (part of the seccomp layer: the
    judge's second program, stacked on the first)."""
    if "seccomp" in LAYERS and not _sibling("seccomp").install(session_filter):
        LAYERS.remove("seccomp")


def read_filter(fd: int) -> bytes:
    """A seccomp program from the judge: all its pipe carries (nothing if it could not build one)."""
    chunks = []
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)


def main() -> None:
    set_limits()
    master = sys.argv[1] == "--master"
    fd, level, *filter_fds = sys.argv[2:] if master else sys.argv[1:]
    seccomp_filter, session_filter = ([read_filter(int(f)) for f in filter_fds] + [b"", b""])[:2]
    LAYERS.extend(confine(level, seccomp_filter))
    if level != "bwrap" and not master:  # a session leader already (the judge's start_new_session)
        stay_in_session(session_filter)
    if master:
        confine_zygote = (lambda: None) if level == "bwrap" else (lambda: stay_in_session(session_filter))
        _sibling("fork_master").Master(
            socket.socket(fileno=int(fd)), level, protocol, LAYERS, confine_zygote, serve_forked_zygote
        ).serve()
    else:
        serve(socket.socket(fileno=int(fd)))


if __name__ == "__main__":
    main()
