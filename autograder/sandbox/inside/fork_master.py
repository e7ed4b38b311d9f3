"""The fork server inside the sandbox (`runner.py --master`): never runs student code, and forks a
fresh zygote per submission after killing every other process and restoring the writable mounts.

A second program beside the runner's zygote loop; runner.py starts it and hands it what a zygote
needs (the isolation layers, the zygote's own loop). A student-side module like the runner's
others (this folder): it imports nothing from the judge's side.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import sys
import time
from collections.abc import Callable

from . import protocol

PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
BWRAP_WRITABLE = ("/tmp", "/dev/shm")  # size-capped tmpfs mounts (launch.py's bwrap command)


def _prctl(option: int, value: int) -> None:
    import ctypes  # only the fork server needs it

    ctypes.CDLL(None).prctl(option, value, 0, 0, 0)


def snapshot(roots: list[str]) -> dict[str, tuple[int, str | None]]:
    """Type, mode and link target of every entry on the given mounts (never crossing into another)."""
    seen: dict[str, tuple[int, str | None]] = {}
    for root in roots:
        dev, stack = os.lstat(root).st_dev, [root]
        while stack:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    st = entry.stat(follow_symlinks=False)
                    seen[entry.path] = (st.st_mode, os.readlink(entry.path) if entry.is_symlink() else None)
                    if stat.S_ISDIR(st.st_mode) and st.st_dev == dev:
                        stack.append(entry.path)
    return seen


RootState = tuple[int, int, int, int, int, dict[str, bytes]]  # mode, uid, gid, atime, mtime (ns), xattrs


def xattrs(path: str) -> dict[str, bytes]:
    """Every extended attribute of `path` readable here (user.*, ACLs...); none where unsupported."""
    try:
        return {
            name: os.getxattr(path, name, follow_symlinks=False) for name in os.listxattr(path, follow_symlinks=False)
        }
    except OSError:
        return {}


def root_state(root: str) -> RootState:
    """What a submission can change on a writable root itself (its entries are snapshot()'s)."""
    st = os.lstat(root)
    return (st.st_mode, st.st_uid, st.st_gid, st.st_atime_ns, st.st_mtime_ns, xattrs(root))


def restore_root(root: str, saved: RootState) -> None:
    """Put a root's attributes, mode and times back as `saved` (times last: the others touch them)."""
    mode, _, _, atime, mtime, attrs = saved
    for name, value in xattrs(root).items():
        if attrs.get(name) != value:
            if name in attrs:
                os.setxattr(root, name, attrs[name], follow_symlinks=False)
            else:
                os.removexattr(root, name, follow_symlinks=False)
    os.chmod(root, stat.S_IMODE(mode))
    os.utime(root, ns=(atime, mtime), follow_symlinks=False)


def scrub(path: str) -> None:
    """Delete a file or tree left by a submission, whatever modes it set (all of it is ours).
    Path-based, so only with nothing else running (under bwrap; 'process' mode gives no
    filesystem isolation to protect anyway)."""
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        for name in os.listdir(path):
            scrub(os.path.join(path, name))
        os.rmdir(path)
    else:
        os.unlink(path)


class Master:
    """The fork server: has NumPy imported (by the runner), forks one zygote per submission.

    Under bwrap it is PID 1 of the sandbox's PID namespace (bwrap --as-pid-1, so no bwrap init a
    submission could ptrace and leave code in): `kill(-1)` reaches every other process there, and
    signals sent from inside cannot kill it. In 'process' mode it kills the previous zygotes'
    process groups, which nothing can leave (setsid and setpgid refused, confine.stay_in_session)."""

    def __init__(
        self,
        control: socket.socket,
        level: str,
        layers: list[str],
        confine_zygote: Callable[[], None],
        serve_zygote: Callable[[socket.socket], None],
    ) -> None:
        """layers: the isolation layers to report (runner.LAYERS);
        confine_zygote: run first in each zygote (it stays in its session at the 'process' level);
        serve_zygote: the zygote's loop on its control socket (runner.serve)."""
        self.control, self.level, self.layers = control, level, layers
        self.confine_zygote, self.serve_zygote = confine_zygote, serve_zygote
        _prctl(PR_SET_DUMPABLE, 0)  # no ptrace or /proc/PID/mem of the master by same-uid processes
        import ast  # noqa: F401 (a lazy import of run_cell every zygote would repeat)

        signal.signal(signal.SIGINT, signal.SIG_DFL)  # as PID 1: then no signal from inside gets in
        if level == "bwrap":  # the sandbox's only writable mounts (/ and /dev are read-only; no /proc)
            self.roots, self.workdir = list(BWRAP_WRITABLE), "/tmp/work"
        else:  # the judge's temporary folder for this server
            self.roots, self.workdir = [os.getcwd()], os.path.join(os.getcwd(), "work")
        self.baseline = snapshot(self.roots)
        self.root_states = {root: root_state(root) for root in self.roots}
        self.zygotes: list[int] = []

    def kill_others(self) -> None:
        """Under bwrap: every process but us. (A stuck one makes the judge replace the sandbox.)"""
        if self.level != "bwrap":
            for pid in self.zygotes:  # unreaped until here, so their pids (and groups) are not reused
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                os.waitpid(pid, 0)
        else:
            while True:
                try:
                    os.kill(-1, signal.SIGKILL)  # all but PID 1 (us); zombies count until reaped
                except ProcessLookupError:
                    break
                try:
                    os.waitpid(-1, 0)  # orphans are ours as PID 1
                except ChildProcessError:
                    time.sleep(0.001)  # a dying process not yet handed to us
        self.zygotes.clear()

    def clear(self) -> bool:
        """Kill every process left by earlier zygotes, delete every file they made and restore the
        roots themselves (xattrs, mode, times). False if not everything is back as it was at start
        (the judge then replaces the whole sandbox). Leaves a new empty working folder for the next zygote."""
        try:
            self.kill_others()
            for root in self.roots:  # first: a root made unreadable or unwritable would stop the scrub
                os.chmod(root, 0o700)
            for path in sorted(set(snapshot(self.roots)) - set(self.baseline)):
                if os.path.lexists(path):  # not already gone with its folder
                    scrub(path)
            if snapshot(self.roots) != self.baseline:
                return False
            os.mkdir(self.workdir, 0o700)
            for root, saved in self.root_states.items():
                restore_root(root, saved)
            return all(root_state(root) == saved for root, saved in self.root_states.items())
        except Exception:  # e.g. a tree too deep or too odd to delete: replace the sandbox
            return False

    def fork_zygote(self, control_fd: int, output_fd: int) -> int:
        """A new zygote serving control_fd, its output (stdout and stderr) going to output_fd."""
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                self.confine_zygote()
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the master in 'process' mode too
                os.dup2(output_fd, 1)
                os.dup2(output_fd, 2)
                os.closerange(3, control_fd)  # the master's socket among them
                os.closerange(control_fd + 1, 1 << 16)
                os.chdir(self.workdir)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                self.serve_zygote(socket.socket(fileno=control_fd))
            finally:
                os._exit(0)
        self.zygotes.append(pid)
        return pid

    def serve(self) -> None:
        protocol.send(self.control, {"ready": True, "pid": os.getpid(), "layers": self.layers})
        while True:
            try:
                req = protocol.recv(self.control)
            except protocol.ChannelClosed:
                return
            if req.get("op") == "clear":
                protocol.send(self.control, {"clean": self.clear()})
            elif req.get("op") == "zygote":  # fds: the zygote's control socket and output file
                _, fds, _, _ = socket.recv_fds(self.control, 1, 2)
                clean = len(fds) == 2 and self.clear()
                pid = self.fork_zygote(*fds) if clean else None
                for fd in fds:
                    os.close(fd)
                protocol.send(self.control, {"clean": clean, "pid": pid})
