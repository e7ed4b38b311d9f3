"""The judge's client of the fork server: one sandbox for many submissions, one at a time.

Its master (fork_master.Master, started as `runner.py --master`) has NumPy imported and, for each
StudentProcess, kills every process left in the sandbox, restores its writable folders and forks a
fresh zygote in milliseconds instead of a new bwrap + Python.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from typing import IO, Any

from .inside import protocol
from .launch import hello, isolation_level, kill_group, launch_runner
from .levels import IsolationRequest
from .side import ENGINE_ONLY, StudentSide

MASTER_TIMEOUT = 10.0  # the fork server's kill + clean-up before a new zygote


class ForkServer:
    """One sandbox for many submissions; a dead, stuck or unclean master is replaced.

        with ForkServer() as server:
            for path in paths:
                results = grade(path, server=server)  # autograder.judge.grade

    Student output goes to each StudentProcess's own size-capped file, whose descriptor travels
    with the zygote's control socket (SCM_RIGHTS), as it is the runner's stdout in one-shot mode."""

    def __init__(self, isolation: IsolationRequest = "auto", side: StudentSide = ENGINE_ONLY) -> None:
        """side: the assignment's student side (side.py) every zygote of this server has."""
        self.level, self.side = isolation_level(isolation), side
        self.popen: subprocess.Popen[bytes] | None = None
        self.control: socket.socket | None = None
        self.workdir: str | None = None
        self.log = tempfile.TemporaryFile()  # the master's own output (its crashes)
        self.generation = 0  # of the newest zygote; an older StudentProcess cannot clear it
        self.starts = 0

    def start(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix="nb74-server-")  # 'process' mode's scratch folder
        self.popen, self.control = launch_runner(
            self.level, ["--master", "{fd}", self.level], self.log, self.workdir, master=True, side=self.side
        )
        self.starts += 1
        hello(self.control)  # each zygote reports its layers to its StudentProcess

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        """Kill the sandbox (under bwrap everything in it dies with its PID 1, the master)."""
        if self.popen is not None:
            kill_group(self.popen)
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

    def _ask(self, req: dict[str, Any], fds: tuple[int, ...] = ()) -> dict[str, Any]:
        if self.control is None:
            raise protocol.ChannelClosed("the fork server is not running")
        protocol.send(self.control, req)
        if fds:
            socket.send_fds(self.control, [b"Z"], list(fds))
        return protocol.recv(self.control, time.monotonic() + MASTER_TIMEOUT)

    def zygote(self, output: IO[bytes]) -> tuple[socket.socket, int]:
        """A new zygote's control socket (it sends the usual hello) and its generation number."""
        for _ in range(2):
            judge_end, zygote_end = socket.socketpair()
            try:
                with zygote_end:
                    if not self.alive():
                        self.stop()
                        self.start()
                    reply = self._ask({"op": "zygote"}, (zygote_end.fileno(), output.fileno()))
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
