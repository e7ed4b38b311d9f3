"""One graded part's channel to a forked child of the student's process, and the objects living there.

    with proc.part_session() as s:
        lin = s.new("Linear", 3, 2)
        y = lin.forward(x); dx = lin.backward(dout)

A call that raises, hangs or kills the child becomes a StudentError whose message is Japanese and
names the student's own line; the session is then dead and the next one is a fresh child.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from . import messages as say
from . import requests
from .errors import Missing, StudentCrashed, StudentError, StudentTimeout
from .inside import protocol
from .received import ReplyRefused, error_message, received
from .values import as_float_array, forward_output

if TYPE_CHECKING:
    import numpy as np

    from .process import StudentProcess

CALL_TIMEOUT = 5.0
CELL_TIMEOUT = 10.0


def step_reply(replies: list[dict[str, Any]], error: StudentError | None, i: int) -> dict[str, Any]:
    """Reply i of PartSession.steps; raises the error that stopped the student before step i."""
    if i < len(replies):
        return replies[i]
    # without an error the student stopped at a "missing" reply, which callers raise before
    raise error or StudentError(say.step_not_run(i + 1))


class RemoteObject:
    """A student object living in the student process; methods go through the channel."""

    def __init__(self, session: PartSession, handle: int, class_name: str) -> None:
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

    def take_reply(self, reply: dict[str, Any]) -> Any:
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

    @property
    def ref(self) -> requests.Ref:
        """This object as an argument of another call (it stays in the student's process)."""
        return requests.Ref(self.handle)

    def forward(self, *args: Any) -> np.ndarray:
        return forward_output(self.call("forward", *args), self.class_name)

    def backward(self, *args: Any) -> np.ndarray:
        return as_float_array(self.call("backward", *args), say.returned_by(self.class_name, "backward"))


class PartSession:
    """One forked student child serving one graded part. Dead after a timeout or crash."""

    def __init__(self, proc: StudentProcess, sock: socket.socket, pid: int) -> None:
        self.proc, self.sock, self.pid = proc, sock, pid
        self.dead: str | None = None
        self.timed_out = False

    def request(self, req: dict[str, Any], what: str, timeout: float = CALL_TIMEOUT) -> dict[str, Any]:
        self._send(req, what)
        reply = self._receive(what, timeout)
        if "error" in reply and isinstance(reply["error"], dict):
            raise StudentError(error_message(reply["error"], what))
        return reply

    def steps(self, steps: list[tuple[dict[str, Any], str]]) -> tuple[list[dict[str, Any]], StudentError | None]:
        """Several requests in one round trip: (request, what) pairs, run in order by the student
        until the first that fails. A step may name the object made by an earlier one as
        {"h": {"$step": i}} (graders/calls.py's Round builds such batches). Each step has its own time limit, as if sent alone.

        Returns the replies received (up to the first that fails, or the first "missing") and the
        error of the failing step, if any, as request() would have raised it."""
        replies: list[dict[str, Any]] = []
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

    def _send(self, req: dict[str, Any], what: str) -> None:
        if self.dead:
            raise StudentCrashed(self.dead)
        try:
            protocol.send(self.sock, req)
        except OSError:
            self._kill(say.process_ended(what))
            raise StudentCrashed(self.dead) from None

    def _receive(self, what: str, timeout: float) -> dict[str, Any]:
        left = self.proc.budget.time_left()
        over_budget = left is not None and left < timeout
        if left is not None and over_budget:
            timeout = max(left, 0.0)
        try:
            reply = protocol.recv(self.sock, time.monotonic() + timeout, spin=self.proc.spin, limit=protocol.MAX_REPLY)
        except protocol.ChannelTimeout:
            self.timed_out = True
            if over_budget:  # the part's budget or the whole submission's, whichever ended first
                error = self.proc.budget.error()
                self._kill(str(error))
                raise error from None
            self._kill(say.call_timed_out(what, timeout))
            raise StudentTimeout(self.dead) from None
        except protocol.MessageTooLarge as exc:  # refused unread: the channel is out of step, so the child goes
            self._kill(say.reply_too_many_bytes(what, exc.size, exc.limit))
            raise StudentCrashed(self.dead) from None
        except (protocol.ChannelClosed, OSError):
            self._kill(say.process_ended(what))
            raise StudentCrashed(self.dead) from None
        try:
            return cast(dict[str, Any], received(reply))
        except ReplyRefused as exc:  # a steps() batch may have more replies coming: the child goes
            self._kill(say.reply_refused(what, str(exc)))
            raise StudentCrashed(self.dead) from None

    def new(self, class_name: str, *args: Any) -> RemoteObject:
        return self.made(self.request(*requests.new(class_name, *args)), class_name)

    def made(self, reply: dict[str, Any], class_name: str) -> RemoteObject:
        """The object a "new" reply names."""
        if reply.get("missing"):
            raise Missing(say.class_missing(class_name))
        return RemoteObject(self, int(reply["h"]), class_name)

    def func(self, name: str, *args: Any, timeout: float = CALL_TIMEOUT) -> Any:
        """The student's top-level function name(*args) (Ref arguments are objects of this child):
        its described result; Missing if there is no such function."""
        reply = self.request(*requests.func(name, *args), timeout=timeout)
        if reply.get("missing"):
            raise Missing(say.function_missing(name))
        return reply.get("result")

    def var(self, name: str) -> Any:
        reply = self.request({"op": "var", "name": name}, what=say.variable(name))
        if reply.get("missing"):
            raise Missing(say.variable_missing(name))
        return reply.get("value")

    def run_exercise(self, cell: str, record: str, timeout: float = CELL_TIMEOUT) -> dict[str, Any]:
        """Execute an exercise cell with `record` (a function) replaced by an argument recorder."""
        return self.request(
            {"op": "exec_recording", "cell": cell, "record": record}, what=say.cell(cell), timeout=timeout
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
