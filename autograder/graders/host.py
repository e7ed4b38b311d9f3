"""What the graders' conftest needs from the pytest plugin that runs them.

The judge's JudgePlugin (autograder/judge/plugin.py) is one host; benchmarks/false_failures.py
passes another that serves the student in its own process."""

from __future__ import annotations

from typing import Protocol

from autograder.course.assignment import Assignment
from autograder.sandbox.part_session import PartSession

from .session import GradingSession


class StudentSource(Protocol):
    @property
    def level(self) -> str:
        """The isolation level the student runs under ('bwrap', 'process' or 'local')."""
        ...

    def part_session(self) -> PartSession: ...


class GraderHost(Protocol):
    is_nb74_judge: bool
    grading_session: GradingSession
    assignment: Assignment  # the assignment being graded (its reference, its graders)

    @property
    def proc(self) -> StudentSource: ...

    def ensure_loaded(self) -> None: ...

    def parts_with_full_points(self) -> set[str]: ...
