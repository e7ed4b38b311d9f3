"""What was asked of the sandbox, and the level that request resolves to on this machine.

    isolation: IsolationRequest   # asked: --isolation, AUTOGRADER_ISOLATION, JudgeScores.isolation
    level: IsolationLevel         # launch.isolation_level(isolation): where the student process runs

What the sandbox then achieved (the level with each layer the student process confirmed) is
recorded in the results: autograder.results.Confinement.
"""

from __future__ import annotations

from typing import Literal, get_args

IsolationRequest = Literal["auto", "bwrap", "process"]  # auto: bwrap where usable (required when CI=true)
IsolationLevel = Literal["bwrap", "process"]
REQUESTS: tuple[IsolationRequest, ...] = get_args(IsolationRequest)


def as_request(text: str) -> IsolationRequest:
    """A request read from outside (a flag, a config value, an environment variable)."""
    for request in REQUESTS:
        if text == request:
            return request
    raise ValueError(f"isolation must be one of {', '.join(REQUESTS)}, not {text!r}")
