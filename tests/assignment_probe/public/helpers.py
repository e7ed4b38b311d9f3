"""A trusted probe handed to the student's code: it records what was done to it, as plain data."""

from __future__ import annotations

from typing import Any

import numpy as np


class Probe:
    """A stand-in model: step(x) records each call; report() says what happened."""

    def __init__(self, size: int) -> None:
        self.weights = np.zeros(int(size))
        self.steps: list[float] = []

    def step(self, x: Any) -> None:
        self.steps.append(float(x))
        self.weights += float(x)

    def report(self) -> list[Any]:
        return [list(self.steps), np.array(self.weights)]
