"""The student's process for one submission: a zygote that runs its cells and forks one child per part.

    with StudentProcess() as proc:
        report = proc.load(cells)                 # [(grade_id, source, run)], per-cell outcome
        with proc.part_session() as s:            # a forked child for one graded part
            ...

Without a server the zygote is a new sandboxed Python (launch.py); with one (fork_server.py) it is
forked by the server's master, and the isolation level is the server's. Making a StudentProcess only
stores its settings: spawn() (or load(), or part_session()) starts it.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import messages as say
from .errors import LoadInterrupted, StudentCrashed, SubmissionOverBudget
from .fork_server import ForkServer
from .inside import protocol
from .launch import STARTUP_TIMEOUT
from .levels import IsolationRequest
from .part_session import CELL_TIMEOUT, PartSession
from .received import error_message
from .side import StudentSide
from .zygote import Cell, Zygote

MAX_SKIPS = 3  # statements of one cell that may hang or exit before the whole cell is given up
PRELOAD_BYTES = 64 << 10  # cells sent ahead must fit in the socket's buffer (never wait to send)


@dataclass
class CellOutcome:
    cell: str
    ok: bool
    message: str = ""


class StudentProcess(Zygote):
    """The untrusted process for one submission (its lifecycle: zygote.py): loads the cells, then
    forks one child per part."""

    def __init__(
        self,
        isolation: IsolationRequest = "auto",
        server: ForkServer | None = None,
        spin: float = 0.0,
        side: StudentSide | None = None,
    ) -> None:
        super().__init__(isolation, server, spin, side)
        self.outcomes: list[CellOutcome] = []
        self.cells: list[Cell] = []
        self.skips: dict[str, set[int]] = {}  # per cell: top-level statements that hung or exited
        self.restarts = 0  # zygotes replaced after a hang or an exit (each re-runs the cells that worked)
        self.cell_seconds = 0.0  # spent running cells, re-runs after restarts included
        self.durations: dict[tuple[str, int], tuple[int, float]] = {}  # (cell, statement): (line, seconds)
        self.slow_skipped: list[str] = []  # statements strict loading skipped (budget.CELLS_BUDGET)

    # -- loading cells -----------------------------------------------------------------------
    def _exec(self, cell: str, source: str, run: bool) -> dict[str, Any]:
        """Run one cell; raise LoadInterrupted naming the statement that hung or killed the process
        (or, once the cells' share of the budget is spent, took over budget.SLOW_STATEMENT seconds),
        SubmissionOverBudget if the submission's budget ends first."""
        self.budget.check_submission()
        start = time.monotonic()
        strict_from = start + max(0.0, self.budget.cells_seconds - self.cell_seconds)  # the cells' share runs out
        if start >= strict_from:
            self._skip_slow(cell)
        skip = sorted(self.skips.get(cell, ()))
        if self.sent_ahead:  # load() checked that these are the cells it runs, in order
            self.sent_ahead.pop(0)
        else:
            protocol.send_encoded(self._channel(), _exec_request(cell, source, run, skip))
        at: tuple[int, int] | None = None
        began = start  # of the statement `at`
        try:
            while True:
                slow_at = max(began, strict_from) + self.budget.slow_statement
                deadline = self.budget.wait_until(min(start + CELL_TIMEOUT, slow_at))
                try:
                    reply = protocol.recv(self._channel(), deadline, limit=protocol.MAX_REPLY)
                except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError) as exc:
                    self.budget.check_submission()
                    timeout = isinstance(exc, protocol.ChannelTimeout)
                    raise LoadInterrupted(timeout, at, slow=timeout and deadline == slow_at) from None
                now = time.monotonic()
                if at is not None:
                    self.durations[(cell, at[0])] = (at[1], now - began)
                if "at" not in reply:
                    return reply
                at, began = (int(reply["at"]), int(reply["line"])), now
        finally:
            self.cell_seconds += time.monotonic() - start

    def _skip_slow(self, cell: str) -> None:
        """Strict loading: skip the statements of `cell` that took over budget.SLOW_STATEMENT seconds before."""
        for (c, i), (line, seconds) in sorted(self.durations.items()):
            if c == cell and seconds > self.budget.slow_statement and i not in self.skips.get(cell, ()):
                self.skips.setdefault(cell, set()).add(i)
                self.slow_skipped.append(say.slow_statement(cell, line, seconds))

    def preload(self, cells: list[Cell], forks: int = 0) -> None:
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
        control = self._channel()
        judge_end, child_end = socket.socketpair()
        with child_end:
            protocol.send(control, {"op": "fork", "spin": self.spin})
            socket.send_fds(control, [b"F"], [child_end.fileno()])
        return judge_end

    def _collect_forks(self) -> None:
        """After load: read the replies to the forks preload() asked for (the zygote sends them after
        the cells' outcomes). If the zygote was replaced meanwhile, stop() already dropped them."""
        ahead, self.forks_ahead = self.forks_ahead, []
        for i, judge_end in enumerate(ahead):
            try:
                deadline = self.budget.wait_until(time.monotonic() + STARTUP_TIMEOUT)
                reply = protocol.recv(self._channel(), deadline, spin=self.spin, limit=protocol.MAX_REPLY)
                self.forked.append((judge_end, int(reply["pid"])))
            except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError, KeyError, TypeError, ValueError):
                for sock in ahead[i:]:
                    sock.close()
                self.stop()  # out of step with the zygote: part_session() starts a new one
                return

    def load(self, cells: list[Cell]) -> list[CellOutcome]:
        """Execute cells in order (run=False only stores the source for later, e.g. exercises).

        A top-level statement that hangs or kills the process is recorded and skipped: the
        process is restarted with what worked so far and the cell runs again without it, so the
        rest of the cell (say, the class defined above an `os._exit(0)`) still counts.

        Once the submission's budget is spent, loading stops where it is: the cell being run and
        the ones after it are not loaded (their parts then score 0, with the reason)."""
        if self.sent_ahead and list(cells[: len(self.sent_ahead)]) != self.sent_ahead:
            self.stop()  # other cells than those sent ahead: start again from a fresh process
        self.cells, self.outcomes = [], []
        try:
            if self.control is None:
                self.spawn()
            self.wait_ready()
            for cell, source, run in cells:
                self._load_cell(cell, source, run)
        except (SubmissionOverBudget, StudentCrashed) as exc:
            self.stop()  # stuck in the cell it was running: no part may fork from it
            loaded = {c for c, _, _ in self.cells}
            cut = next((c for c, _, _ in cells if c not in loaded), None)
            if cut is not None:
                seconds = f"{self.budget.submission_seconds:g}"
                why = (
                    say.submission_budget_reached(seconds)
                    if isinstance(exc, SubmissionOverBudget)
                    else say.RESTART_FAILED_REASON
                )
                self.outcomes.append(CellOutcome(cut, False, say.cells_not_loaded(cut, why)))
            return self.outcomes
        if self.sent_ahead:  # cells other than those sent ahead: the zygote is out of step
            self.stop()
        elif self.forks_ahead:
            self._collect_forks()
        return self.outcomes

    def _load_cell(self, cell: str, source: str, run: bool) -> None:
        notes: list[str] = []
        for _attempt in range(MAX_SKIPS + 1):
            try:
                reply = self._exec(cell, source, run)
                break
            except LoadInterrupted as exc:
                slow, share = f"{self.budget.slow_statement:g}", f"{self.budget.cells_seconds:g}"
                why = (
                    say.statement_over_slow_limit(slow, share)
                    if exc.slow
                    else say.HUNG_AT_LOAD
                    if exc.timeout
                    else say.EXITED_AT_LOAD
                )
                notes.append(say.statement_skipped(cell, exc.at[1] if exc.at else None, why))
                self._restart()
                if exc.at is None:
                    reply = {"ok": False, "error": None}
                    break
                self.skips.setdefault(cell, set()).add(exc.at[0])
        else:
            reply = {"ok": False, "error": None}
        if reply.get("error"):
            notes.append(error_message(reply["error"], say.cell(cell)))
        self.outcomes.append(CellOutcome(cell, not notes, "。".join(notes)))
        self.cells.append((cell, source, run))  # definitions that ran still count

    def _restart(self) -> None:
        """A fresh zygote given the cells loaded so far (within the submission's budget). A statement
        that now hangs or exits there (one that strict loading cuts, say) is skipped in turn."""
        for _attempt in range(MAX_SKIPS + 1):
            self.budget.check_submission()
            self.restarts += 1
            self.stop()
            self.start()
            for c, s, r in self.cells:
                try:
                    self._exec(c, s, r)
                except LoadInterrupted as exc:
                    if exc.at is None:
                        break
                    self.skips.setdefault(c, set()).add(exc.at[0])
                    why = say.slow_on_rerun(self.budget.slow_statement) if exc.slow else say.STOPPED_ON_RERUN
                    self.slow_skipped.append(say.skipped_on_rerun(c, exc.at[1], why))
                    break
            else:
                return
        self.stop()
        raise StudentCrashed(say.COULD_NOT_RESTART)

    # -- parts -------------------------------------------------------------------------------
    def part_session(self) -> PartSession:
        """A forked child for one part; a dead zygote is first replaced and given the good cells.
        Raises SubmissionOverBudget once the submission's budget is spent."""
        for attempt in range(2):
            self.budget.check_submission()
            if attempt or not self.alive():
                self._restart()
            while self.forked:
                sock, pid = self.forked.pop(0)
                if not _hung_up(sock):
                    return PartSession(self, sock, pid)
                sock.close()  # a child made ahead that died meanwhile (killed by a sibling, say)
            judge_end = None
            try:
                judge_end = self._ask_fork()
                deadline = self.budget.wait_until(time.monotonic() + STARTUP_TIMEOUT)
                reply = protocol.recv(self._channel(), deadline, spin=self.spin, limit=protocol.MAX_REPLY)
                return PartSession(self, judge_end, int(reply["pid"]))
            except (protocol.ChannelTimeout, protocol.ChannelClosed, OSError):
                if judge_end is not None:
                    judge_end.close()  # a zygote that died unnoticed (possible in server mode)
        raise StudentCrashed(say.COULD_NOT_START)


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
