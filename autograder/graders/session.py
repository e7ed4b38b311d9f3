"""The state of one grading run: the submission's inputs key, the measurement recorder, the caches,
and whether failures are diagnosed.

The judge's plugin owns one per submission (JudgePlugin.grading_session), and the graders' autouse
`grading` fixture activates it for the run; benchmarks and tests that call graders in-process
activate their own. The graders reach it through current(): one pointer instead of a global per concern.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from .cache import ExpectedCache

Measurement = tuple[str, float, float]  # (what, error, tolerance)


class GradingSession:
    """Everything the graders keep while grading one submission (or one benchmark run)."""

    def __init__(self, key: bytes | None = None, cache: ExpectedCache | None = None, diagnosing: bool = True):
        self.diagnosing = diagnosing  # name the mistake a failing gradient shows (the assignment's public diagnosis)
        self.inputs_key: tuple[int, ...] | None = None if key is None else words(key)
        self.recorder: list[Measurement] | None = None
        # the expected values outlive a session: a batch worker grades many submissions
        self.cache = cache if cache is not None else SHARED_CACHE
        self.exercise_runs: list[tuple[Any, dict[str, Any]]] = []  # (student session, recorded run)

    def current_inputs_key(self) -> tuple[int, ...]:
        if self.inputs_key is None:
            raise RuntimeError("no inputs key set: the judge draws each submission's inputs under its key")
        return self.inputs_key

    @contextmanager
    def recording(self) -> Iterator[list[Measurement]]:
        """Collect (what, error, tolerance) of every numeric comparison made inside the block."""
        saved, self.recorder = self.recorder, []
        try:
            yield self.recorder
        finally:
            self.recorder = saved

    def record(self, what: str, err: float, tol: float) -> None:
        if self.recorder is not None:
            self.recorder.append((what, err, tol))

    @contextmanager
    def active(self) -> Iterator[GradingSession]:
        token = _active.set(self)
        try:
            yield self
        finally:
            _active.reset(token)


def words(key: bytes) -> tuple[int, ...]:
    """The inputs key as the words a case's generator is seeded with."""
    if not isinstance(key, bytes) or not key:
        raise ValueError("the inputs key is a non-empty bytes value")
    return tuple(int.from_bytes(key[i : i + 4].ljust(4, b"\0"), "little") for i in range(0, min(len(key), 32), 4))


SHARED_CACHE = ExpectedCache()
_idle = GradingSession()  # outside any run: no key (drawing a case fails), nothing recorded
_active: ContextVar[GradingSession] = ContextVar("grading_session", default=_idle)


def current() -> GradingSession:
    """The session of the run in progress."""
    return _active.get()


# --- for callers outside the judge's pytest run (benchmarks, tests) --------------------------------
def inputs_key(key: bytes) -> AbstractContextManager[GradingSession]:
    """A session drawing cases for this key, active within the block."""
    return GradingSession(key).active()


def recording() -> AbstractContextManager[list[Measurement]]:
    """The active session's recorder, within the block (see GradingSession.recording)."""
    return current().recording()


def seeded(seed: int, salt: int) -> np.random.Generator:
    """The generator of one grader case: a hidden seed combined with the case's salt and the
    submission's key (HMAC of the course secret and the loaded cells, see
    autograder/course/secret.py), so hidden inputs learnt from one submission are of no use in another."""
    return np.random.default_rng([seed, salt, *current().current_inputs_key()])
