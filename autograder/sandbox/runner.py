"""The student process: runs untrusted submission code and answers the judge's requests.

Started by the judge as `python -I -B runner.py` (inside bubblewrap where available), with the
control socket's descriptor number as its argument. It imports NumPy once, executes the given and answer cells it is sent,
then forks one child per graded part; each child serves requests on its own socket. It knows
nothing of the graders, the rubric or the expected values, and sends back plain data only.
"""
from __future__ import annotations

import builtins
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

_spec = importlib.util.spec_from_file_location("_protocol", Path(__file__).with_name("protocol.py"))
protocol = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(protocol)

CELL_PREFIX = "<cell "


def set_limits() -> None:
    mem = int(os.environ.get("RUNNER_MEMORY_BYTES", 1 << 30))
    fsize = int(os.environ.get("RUNNER_FILE_BYTES", 8 << 20))
    for res, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_FSIZE, fsize),
                       (resource.RLIMIT_CORE, 0)):
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
            where = {"cell": frame.filename[len(CELL_PREFIX):-1], "line": frame.lineno,
                     "function": frame.name, "code": (frame.line or "")[:200]}
    return {"type": type(exc).__name__, "message": str(exc)[:300], "where": where}


def describe(value, depth: int = 0):
    """Plain-data view of any student value: arrays, numbers, strings, containers, objects."""
    if depth > 4:
        return {"$obj": type(value).__name__}
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
    out = {"$obj": type(value).__name__}
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
        self.classes = [v for v in list(ns.values())
                        if isinstance(v, type) and callable(getattr(v, "forward", None))]
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

                setattr(cls, "forward", counting)
        return self

    def __exit__(self, *exc):
        for cls, original in self.saved:
            setattr(cls, "forward", original)


class PartServer:
    """Serves one graded part's requests on its own socket (in a forked child)."""

    def __init__(self, sock: socket.socket, ns: dict, cells: dict[str, str]):
        self.sock, self.ns, self.cells = sock, ns, cells
        self.objects: dict[int, object] = {}
        self.recorded: list[dict] = []

    def serve(self) -> None:
        while True:
            try:
                req = protocol.recv(self.sock)
            except protocol.ChannelClosed:
                return
            if req.get("op") == "exit":
                return
            try:
                reply = self.handle(req)
            except BaseException as exc:  # the student's code raised (SystemExit too)
                reply = {"error": error_info(exc)}
            try:
                protocol.send(self.sock, reply)
            except (TypeError, ValueError) as exc:
                protocol.send(self.sock, {"error": {"type": "UnsendableValue", "message": str(exc)[:300],
                                                     "where": None}})

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
            changed = [not (isinstance(a, np.ndarray) and a.shape == s.shape
                            and np.array_equal(a, s, equal_nan=True))
                       for a, s in zip(args, sent) if isinstance(s, np.ndarray)]
            return {"result": describe(result), "args_changed": changed,
                    "forward_calls": watch.calls if req["method"] != "forward" else 0}
        if op == "get":
            container = getattr(self.obj(req), req["attr"], None)
            if req.get("key") is None:
                return {"value": describe(container)}
            if not isinstance(container, dict) or req["key"] not in container:
                return {"missing": True}
            return {"value": describe(container[req["key"]])}
        if op == "set":
            container = getattr(self.obj(req), req["attr"])
            container[req["key"]] = np.array(req["value"]) if isinstance(req["value"], np.ndarray) else req["value"]
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
                self.recorded.append({"args": [describe(a) for a in args],
                                      "kwargs": {k: describe(v) for k, v in kwargs.items()}})
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


def main() -> None:
    set_limits()
    control = socket.socket(fileno=int(sys.argv[1]))
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    cells: dict[str, str] = {}
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked part servers are reaped automatically
    protocol.send(control, {"ready": True, "pid": os.getpid()})
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
                    run_cell(req["cell"], req["source"], ns, frozenset(req.get("skip", [])),
                             lambda i, line: protocol.send(control, {"at": i, "line": line}))
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
                PartServer(socket.socket(fileno=fds[0]), ns, cells).serve()
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


if __name__ == "__main__":
    main()
