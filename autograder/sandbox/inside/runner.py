"""The student process: runs untrusted submission code and answers the judge's requests.

Started by the judge as `python -I -B runner.py FD LEVEL SIDE FILTER...` (inside bubblewrap where
available), FD being the control socket's descriptor number, LEVEL 'bwrap' or 'process' (see
confine.py), SIDE the assignment's own student-side folders and handler module as JSON ("{}":
none; assignment.py) and each FILTER a pipe's descriptor carrying a seccomp program the judge built (see
seccomp.py; empty if it could not): the main one and, at 'process' level, the setsid/setpgid
one. It imports NumPy once, confines itself, executes the given and answer cells it is sent,
then forks one child per graded part; each child serves requests on its own socket
(part_server.py). It knows nothing of the graders, the rubric or the expected values, and sends
back plain data only.

`runner.py --master FD LEVEL SIDE FILTER...` is a fork server instead (fork_master.py): it never runs
student code and forks a fresh zygote (the loop below) per submission.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import os
import resource
import signal
import socket
import sys
import types
from typing import TYPE_CHECKING, Any

import numpy as np

STUDENT_SIDE = "_sandbox"  # the package the student-side files form inside the sandbox


def _student_side(name: str) -> types.ModuleType:
    """A student-side module: from the package when the judge imports this file; run as a script
    (python -I: no folder on sys.path), from this folder loaded as the package _sandbox, so that
    the files import each other with relative imports as in the autograder package. Only this
    folder is listed (at the 'process' level Landlock lets the runner read nothing above it)."""
    if __package__:
        return importlib.import_module(f".{name}", __package__)
    if STUDENT_SIDE not in sys.modules:
        here = os.path.dirname(os.path.abspath(__file__))
        spec = importlib.util.spec_from_file_location(
            STUDENT_SIDE, os.path.join(here, "__init__.py"), submodule_search_locations=[here]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[STUDENT_SIDE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{STUDENT_SIDE}.{name}")


if TYPE_CHECKING:
    from . import assignment, cells, confine, part_server, protocol
else:
    assignment, cells, confine, part_server, protocol = map(
        _student_side, ("assignment", "cells", "confine", "part_server", "protocol")
    )

# re-exported for benchmarks/false_failures.py, which serves parts in its own process (they live in
# part_server.py and cells.py)
PartServer, run_cell = part_server.PartServer, cells.run_cell
LAYERS: list[str] = []  # isolation layers this process put in place (confine.confine()), told to the judge
ADDED_KINDS: dict[str, Any] = {}  # the assignment's request kinds (assignment.load), for each part child
MAX_SPIN = 0.01  # seconds a part server may poll for the next request before blocking


def serve(control: socket.socket) -> None:
    """The zygote of one submission: execute its cells, fork one part server per request."""
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    cell_sources: dict[str, str] = {}
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked part servers are reaped automatically
    protocol.send(control, {"ready": True, "pid": os.getpid(), "layers": LAYERS})
    while True:
        try:
            req = protocol.recv(control)
        except protocol.ChannelClosed:
            return
        op = req.get("op")
        if op == "exec":
            cell_sources[req["cell"]] = req["source"]
            reply: dict[str, Any]
            try:
                if req.get("run", True):
                    cells.run_cell(
                        req["cell"],
                        req["source"],
                        ns,
                        frozenset(req.get("skip", [])),
                        lambda i, line: protocol.send(control, {"at": i, "line": line}),
                    )
                reply = {"ok": True}
            except BaseException as exc:
                reply = {"ok": False, "error": cells.error_info(exc)}
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
                sock = socket.socket(fileno=fds[0])
                part_server.PartServer(sock, ns, cell_sources, spin, ADDED_KINDS).serve()
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


def serve_forked_zygote(control: socket.socket) -> None:
    """A zygote the fork server forked: as serve(), with its own entropy as a fresh process would have."""
    np.random.seed()
    serve(control)


def main() -> None:
    confine.set_limits()
    master = sys.argv[1] == "--master"
    fd, level, side, *filter_fds = sys.argv[2:] if master else sys.argv[1:]
    seccomp_filter, session_filter = ([confine.read_filter(int(f)) for f in filter_fds] + [b"", b""])[:2]
    folders, handlers = assignment.parse(side)
    LAYERS.extend(confine.confine(level, seccomp_filter, list(folders.values())))
    ADDED_KINDS.update(assignment.load(folders, handlers))  # before any student code (the master's: once)
    if level != "bwrap" and not master:  # a session leader already (the judge's start_new_session)
        confine.stay_in_session(LAYERS, session_filter)
    if master:
        stay = (lambda: None) if level == "bwrap" else (lambda: confine.stay_in_session(LAYERS, session_filter))
        fork_master = _student_side("fork_master")
        fork_master.Master(socket.socket(fileno=int(fd)), level, LAYERS, stay, serve_forked_zygote).serve()
    else:
        serve(socket.socket(fileno=int(fd)))


if __name__ == "__main__":
    main()
