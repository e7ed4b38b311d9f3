"""The student's zygote, as a process: its settings, launch (a sandboxed Python of its own, or a fork
of a server's master), the control channel, and stop and clean-up. process.py's StudentProcess
builds on it: the cells it loads and the part children it forks.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import IO, TypeVar

from ..results import Confinement
from .budget import PartBudget
from .fork_server import ForkServer
from .inside import protocol
from .launch import STARTUP_TIMEOUT, hello, isolation_level, kill_group, launch_runner
from .levels import IsolationLevel, IsolationRequest
from .side import ENGINE_ONLY, StudentSide

Cell = tuple[str, str, bool]  # (grade_id, source, run)
_Z = TypeVar("_Z", bound="Zygote")


class Zygote:
    """The student's zygote for one submission, as a process; `budget` holds the wall-clock budgets
    of the whole submission and of its parts: every wait for the student ends when the submission's
    runs out. `side`: the assignment's student-side folders and request kinds (side.py); a server
    serves one side, which must be this one."""

    def __init__(
        self,
        isolation: IsolationRequest = "auto",
        server: ForkServer | None = None,
        spin: float = 0.0,
        side: StudentSide | None = None,
    ) -> None:
        if server is not None and side is not None and side != server.side:
            raise ValueError("a fork server serves the student side it was started with, not this one")
        self.isolation, self.server = isolation, server  # what was asked (a server's level prevails)
        self.side = server.side if server is not None else side or ENGINE_ONLY
        # Seconds each side polls for the other's next message before blocking (protocol.recv): for a
        # one-shot grade, where the judge and the student each have a core; 0 in batches.
        self.spin = spin
        self.budget = PartBudget()
        self._level: IsolationLevel | None = None
        self.popen: subprocess.Popen[bytes] | None = None
        self.control: socket.socket | None = None
        self.generation = 0  # of the server's zygote
        self.layers: list[str] = []  # isolation layers the runner reported (confinement)
        self.workdir: str | None = None
        self.output: IO[bytes] | None = None  # the student's stdout and stderr, size-capped
        self.ready = False
        self.sent_ahead: list[Cell] = []  # cells sent by preload(), outcome unread
        self.forks_ahead: list[socket.socket] = []  # part children asked for by preload(), unread
        self.forked: list[tuple[socket.socket, int]] = []  # part children ready for part_session()

    @property
    def level(self) -> IsolationLevel:
        """'bwrap' or 'process' (launch.isolation_level), decided on first use."""
        if self._level is None:
            self._level = self.server.level if self.server else isolation_level(self.isolation)
        return self._level

    @property
    def confinement(self) -> Confinement:
        """What the sandbox achieved, for the results: the level and each layer the runner confirmed,
        e.g. 'bwrap+seccomp' or 'process+uid-nobody+landlock+seccomp' (see README, Isolation)."""
        return Confinement(self.level, tuple(self.layers))

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Launch the runner without waiting: it imports NumPy while the judge gets ready."""
        level, output = self.level, self._output()
        self.ready = False
        if self.server is not None:
            self.control, self.generation = self.server.zygote(output)
        else:
            if self.workdir is None:
                self.workdir = tempfile.mkdtemp(prefix="nb74-student-")
            self.popen, self.control = launch_runner(level, ["{fd}", level], output, self.workdir, side=self.side)

    def _output(self) -> IO[bytes]:
        if self.output is None:
            self.output = open(os.path.join(tempfile.mkdtemp(prefix="nb74-out-"), "out.txt"), "wb+")
        return self.output

    def _channel(self) -> socket.socket:
        if self.control is None:
            raise protocol.ChannelClosed("the student process is not running")
        return self.control

    def wait_ready(self) -> None:
        if self.ready:
            return
        try:
            self.layers = hello(self._channel(), self.budget.wait_until(time.monotonic() + STARTUP_TIMEOUT))
        except protocol.ChannelTimeout:
            self.budget.check_submission()
            raise
        self.ready = True

    def alive(self) -> bool:
        """Started and, as far as this side can tell, not dead."""
        return self.control is not None and (self.popen is None or self.popen.poll() is None)

    def stop(self) -> None:
        if self.control is None:
            return
        if self.popen is not None:
            kill_group(self.popen)
            self.popen = None
        elif self.server is not None:
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
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.output is not None:
            self.output.close()
            shutil.rmtree(os.path.dirname(self.output.name), ignore_errors=True)

    def __enter__(self: _Z) -> _Z:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def kill_child(self, pid: int) -> None:
        """Ask the zygote to kill a part child (pids are the sandbox's); restart it if it is stuck."""
        try:
            protocol.send(self._channel(), {"op": "kill", "pid": pid})
            protocol.recv(self._channel(), time.monotonic() + 2.0, spin=self.spin, limit=protocol.MAX_REPLY)
        except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError):
            self.stop()

    def student_output(self, limit: int = 4000) -> str:
        if self.output is None:
            return ""
        self.output.flush()
        self.output.seek(0)
        return self.output.read(limit).decode("utf-8", "replace")
