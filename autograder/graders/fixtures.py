"""The engine's fixtures of the hidden graders, a pytest plugin: an assignment's graders/conftest.py
loads it (pytest_plugins = ("autograder.graders.fixtures",)). The judge runs pytest on the
assignment's graders/ with its plugin loaded.

- `student`: the submission, served by a forked student process for the current part. A call
  that hangs or crashes kills only that child; the next test gets a fresh one.
- `reference`: the assignment's trusted reference implementation (solutions/<assignment>/reference.py); while
  it is in use, expected values computed from it are also kept on disk between grades (bwrap only).
- `passed_parts`: names of the parts graded so far with full points (for the integration part).
- `grading` (autouse): the GradingSession of this run (graders/session.py: the submission's inputs
  key, the measurement recorder, the caches), owned by the plugin and active while the graders run.

The plugin is the judge's JudgePlugin (autograder/judge/plugin.py); a caller running the graders
in-process (benchmarks/false_failures.py) passes its own object with the same interface
(graders/host.py: GraderHost).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from types import ModuleType
from typing import cast

import pytest

from autograder.sandbox.errors import StudentTimeout
from autograder.sandbox.part_session import PartSession

from .cache import expected_store
from .host import GraderHost, StudentSource
from .session import GradingSession

pytest_plugins = ("autograder.graders.seeds",)  # --grader-seed and the grader_seed fixture


def _plugin(request: pytest.FixtureRequest) -> GraderHost:
    """The judge's JudgePlugin, passed to pytest.main by autograder.judge.grade."""
    for plugin in request.config.pluginmanager.get_plugins():
        if getattr(plugin, "is_nb74_judge", False):
            return cast(GraderHost, plugin)
    raise RuntimeError("the graders run only under the judge: python -m autograder grade ...")


@pytest.fixture(scope="session", autouse=True)
def grading(request: pytest.FixtureRequest) -> Iterator[GradingSession]:
    with _plugin(request).grading_session.active() as session:
        yield session


class LiveSession:
    """Hands out a live PartSession, forking a new child when the last one crashed.

    After a timeout the part is given up: its remaining tests fail at once with the same reason
    instead of each waiting for the deadline again."""

    def __init__(self, proc: StudentSource) -> None:
        self.proc = proc
        self.session: PartSession | None = None
        self.hung: str | None = None

    def get(self) -> PartSession:
        if self.hung:
            raise StudentTimeout(self.hung)
        if self.session is not None and self.session.timed_out:
            self.hung = self.session.dead
            raise StudentTimeout(self.hung)
        if self.session is None or self.session.dead:
            self.session = self.proc.part_session()
        return self.session

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


@pytest.fixture(scope="module")
def _live(request: pytest.FixtureRequest) -> Iterator[LiveSession]:
    plugin = _plugin(request)
    plugin.ensure_loaded()
    live = LiveSession(plugin.proc)
    yield live
    live.close()


@pytest.fixture
def student(_live: LiveSession) -> PartSession:
    return _live.get()


@pytest.fixture(scope="session")
def reference(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    host = _plugin(request)
    path = host.assignment.reference()
    spec = importlib.util.spec_from_file_location(f"{host.assignment.name}_reference", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if host.proc.level != "bwrap":  # the student runs as our user: nothing kept on disk
        yield module
        return
    with expected_store(host.assignment):  # expected values from earlier grades (see expected_store.py)
        yield module


@pytest.fixture
def passed_parts(request: pytest.FixtureRequest) -> set[str]:
    return _plugin(request).parts_with_full_points()
