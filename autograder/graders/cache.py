"""The graders' one cache: grader cases, student results shared by tests, and expected values.

- cases (case_cache): each grader case is built once per inputs key; its arrays are made read-only,
  so no check can alter a case another reuses. A case's "key" gets the inputs key, so that every
  entry keyed by cases tells submissions apart.
- student results (memo): one backward call serves, e.g., the shape test and the first value check;
  entries live as long as their student session.
- expected values (cached): they depend only on the (hidden) case and the reference, so they are
  kept across tests and grades in one process and, while the judge has opened a store (see
  fixtures.py), on disk between grades (expected_store.py is the file format). A regrade of the same
  code finds its values again while another submission (other inputs) computes its own.
"""

from __future__ import annotations

import functools
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from autograder.course.assignment import Assignment
from autograder.sandbox.errors import StudentError

from .expected_store import ExpectedStore, store_path

T = TypeVar("T")
Case = dict[str, Any]
CASES_SIZE = 4096
EXPECTED_CACHE_SIZE = 512


class ExpectedCache:
    """The entries of all three kinds, and the stores on disk opened so far."""

    def __init__(self, size: int = EXPECTED_CACHE_SIZE, cases: int = CASES_SIZE) -> None:
        self.size, self.cases_size = size, cases  # a benchmark over many seeds keeps them all
        self.cases: OrderedDict[Any, Case] = OrderedDict()
        self.results: dict[Any, tuple[Any, bool, Any]] = {}
        self.expected: OrderedDict[Any, Any] = OrderedDict()
        self.store: ExpectedStore | None = None
        self.opened: dict[
            tuple[Path, Assignment], ExpectedStore
        ] = {}  # read once per process (a batch worker grades many)

    def case(self, make: Callable[..., Case], inputs: tuple[int, ...], args: tuple[Any, ...], kwargs: Any) -> Case:
        key = (make, inputs, args, tuple(sorted(kwargs.items())))
        hit = self.cases.get(key)
        if hit is not None:
            self.cases.move_to_end(key)
            return hit
        case = make(*args, **kwargs)
        case["key"] = (inputs, case.get("key"))
        _freeze(case)
        self.cases[key] = case
        if len(self.cases) > self.cases_size:
            self.cases.popitem(last=False)
        return case

    def memo(self, student: Any, key: Any, fn: Callable[[], T]) -> T:
        hit: tuple[Any, bool, Any] | None = self.results.get(key)
        if hit is None or hit[0] is not student:
            for k in [k for k, v in self.results.items() if v[0] is not student]:
                del self.results[k]
            try:
                value: Any = fn()
                hit = (student, True, value)
            except (AssertionError, StudentError) as exc:
                hit = (student, False, exc)
            self.results[key] = hit
        ok, value = hit[1], hit[2]
        if not ok:
            raise value.with_traceback(None)  # a fresh traceback each time (pytest formats every frame)
        return value  # type: ignore[no-any-return]

    def cached(self, key: Any, reference: Any, fn: Callable[[], T]) -> T:
        reference_file = getattr(reference, "__file__", None)
        memory_key = (reference_file or id(reference), key)
        if memory_key in self.expected:
            self.expected.move_to_end(memory_key)
            return self.expected[memory_key]  # type: ignore[no-any-return]
        value: Any
        if self.store is not None and reference_file and _is_the_reference(reference_file, self.store.assignment):
            value = self.store.get(key)
            if value is None:
                value = fn()
                self.store.put(key, value)
        else:
            value = fn()
        self.expected[memory_key] = value
        if len(self.expected) > self.size:
            self.expected.popitem(last=False)
        return value  # type: ignore[no-any-return]

    @contextmanager
    def on_disk(self, assignment: Assignment, path: Path | None = None) -> Iterator[ExpectedStore | None]:
        """Within the block, cached() also reads and writes expected values on disk (saved at the end).
        path: by default expected_store.store_path(), which may say to keep nothing (then None)."""
        path = path or store_path()
        if path is None:
            yield None
            return
        saved = self.store
        if (path, assignment) not in self.opened:
            self.opened[path, assignment] = ExpectedStore(path, assignment)
        store = self.store = self.opened[path, assignment]
        try:
            yield store
        finally:
            store.save()
            self.store = saved


def _freeze(value: Any) -> None:
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _freeze(v)
    elif isinstance(value, dict):
        for v in value.values():
            _freeze(v)


@functools.cache
def _is_the_reference(path: str, assignment: Assignment) -> bool:
    """Only the reference solution's values go to disk (the store's digest covers its bytes)."""
    return os.path.samefile(path, assignment.reference())


# --- the graders' entry points: the cache of the active grading session ---------------------------
def _current() -> Any:
    from .session import current

    return current()


def case_cache(make: Callable[..., Case]) -> Callable[..., Case]:
    """Build each grader case once per inputs key (several tests share a case)."""

    @functools.wraps(make)
    def cached_make(*args: Any, **kwargs: Any) -> Case:
        session = _current()
        return session.cache.case(make, session.current_inputs_key(), args, kwargs)  # type: ignore[no-any-return]

    return cached_make


def memo(student: Any, key: Any, fn: Callable[[], T]) -> T:
    """fn()'s value or error, once per student session and key."""
    return _current().cache.memo(student, key, fn)  # type: ignore[no-any-return]


def cached(key: Any, reference: Any, fn: Callable[[], T]) -> T:
    """fn(), computed once per key: the reference's path is part of the key (and, on disk, the
    bytes of the reference and of the graders: see expected_store)."""
    return _current().cache.cached(key, reference, fn)  # type: ignore[no-any-return]


def expected_store(assignment: Assignment, path: Path | None = None) -> Any:
    """The active session's cache, on disk within the block for this assignment's expected values
    (see ExpectedCache.on_disk)."""
    return _current().cache.on_disk(assignment, path)
