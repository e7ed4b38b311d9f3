"""Grading in workers: local processes or a Dask cluster, each keeping one sandbox (ForkServer).

A worker reads the submission through the intake, grades it with the judge and hands back the
results as JSON text (plain data between processes); a dead worker costs a retry, then a recorded
reason, never the batch.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from ...course import assignment as registry
from ...intake.read import SubmissionError, take_in
from ...intake.skeleton import Skeleton, skeleton_of
from ...intake.submissions import Submission
from ...results import Confinement, Results
from ...sandbox.levels import IsolationRequest
from . import messages as say


def _die_with_parent() -> None:
    """Worker initializer: a SIGKILLed coordinator takes its workers (and their sandboxes) along."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    # A coordinator killed while this worker was still starting (spawn and imports) sent
    # no signal: prctl came too late. Its tasks would still be graded and the worker wait forever.
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)


_SERVERS: dict[tuple[str, str], Any] = {}  # per worker process: one ForkServer per isolation and assignment


def course_files(path: Path, assignment: registry.Assignment) -> tuple[Path, Skeleton]:
    """The course root of a notebook of `assignment` in nbgrader's layout
    (root/submitted/<student>/<assignment>/), and the skeleton of its released notebook, which the
    canonical notebook is laid on (the course's release, else the kit's)."""
    root = path.parents[3]
    release = root / "release" / path.parent.name / f"{assignment.notebook}.ipynb"
    if not release.is_file():
        release = assignment.release()
    return root, skeleton_of(release, assignment)


def read_canonical(path: Path, assignment: registry.Assignment) -> tuple[dict[str, Any], list[str]]:
    """The submission as every route grades it: the canonical notebook, and the notes."""
    root, sk = course_files(path, assignment)
    got = take_in(path, sk, under=root)
    return got.notebook, got.notes


def grade_path(path: str | None, note: str, name: str, isolation: IsolationRequest = "auto") -> str:
    """Grade one notebook of the assignment called `name` and return the results as JSON text
    (plain data between processes).

    Runs in a worker (local or Dask), which keeps one ForkServer: each submission then gets a
    fresh student process forked instead of a new sandbox and interpreter."""
    from ...judge.grade import grade
    from ...sandbox.fork_server import ForkServer
    from ...sandbox.side import StudentSide

    notes = [note] if note else []
    assignment = registry.assignment(name)
    rubric = assignment.rubric
    if path is None:
        results = Results.empty(rubric, note, Confinement.unconfirmed(isolation))
    else:
        try:
            nb, more = read_canonical(Path(path), assignment)
            notes += more
            key = (isolation, assignment.name)  # a fork server serves one assignment's student side
            if key not in _SERVERS:
                _SERVERS[key] = ForkServer(isolation, side=StudentSide.for_grading(assignment.folder))
            results = grade(nb, assignment, isolation=isolation, server=_SERVERS[key])
        except SubmissionError as exc:  # refused by the intake: 0, with the reason
            results = Results.empty(rubric, str(exc), Confinement.unconfirmed(isolation))
        except Exception:  # the judge itself failed: the kit's failure, recorded for nobody; the batch goes on
            import traceback

            print(f"grader error: the judge failed on {path}:\n{traceback.format_exc()}", file=sys.stderr)
            results = Results.grader_failure(rubric, Confinement.unconfirmed(isolation))
        results = results.with_notes(notes)
    return results.to_json()


class LocalPool:
    """Worker processes on this machine; a broken pool is replaced and its jobs resubmitted."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, initializer=_die_with_parent, max_tasks_per_child=200)

    def map(self, subs: list[Submission], name: str, isolation: IsolationRequest) -> Iterator[tuple[Submission, str]]:
        """Grade the submissions of the assignment called `name`."""
        rubric = registry.assignment(name).rubric
        pending: dict[Future[str], tuple[Submission, int]] = {}
        queue = [(s, 0) for s in subs]

        def fill() -> None:
            while queue and len(pending) < self.workers * 2:
                s, tries = queue.pop(0)
                fut = self.pool.submit(grade_path, str(s.path) if s.path else None, s.note, name, isolation)
                pending[fut] = (s, tries)

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut not in pending:  # already requeued: the pool broke under an earlier one
                    continue
                s, tries = pending.pop(fut)
                try:
                    yield s, fut.result()
                except Exception as exc:  # a worker died (e.g. BrokenProcessPool): retry once
                    self.pool.shutdown(wait=False, cancel_futures=True)
                    self.pool = self._new()
                    for f, (s2, t2) in list(pending.items()):
                        queue.append((s2, t2))
                        pending.pop(f)
                    if tries < 1:
                        queue.append((s, tries + 1))
                    else:
                        why = say.process_crashed(type(exc).__name__)
                        yield s, Results.empty(rubric, why, Confinement.unconfirmed(isolation)).to_json()
            fill()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """An existing Dask cluster: the same grading function runs on its workers."""

    def __init__(self, address: str):
        from distributed import Client

        self.client = Client(address, timeout="30s")  # type: ignore[no-untyped-call]

    def map(self, subs: list[Submission], name: str, isolation: IsolationRequest) -> Iterator[tuple[Submission, str]]:
        """Grade the submissions of the assignment called `name`."""
        from distributed import as_completed

        futures = {
            self.client.submit(
                grade_path,
                str(s.path) if s.path else None,
                s.note,
                name,
                isolation,
                key=f"grade-{s.student}-{s.sha256[:16]}",
                pure=False,
            ): s
            for s in subs
        }
        rubric = registry.assignment(name).rubric
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            s = futures[fut]
            try:
                yield s, fut.result()
            except Exception as exc:
                why = say.worker_crashed(type(exc).__name__)
                yield s, Results.empty(rubric, why, Confinement.unconfirmed(isolation)).to_json()

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]
