"""Exercise 8.2: the setup of a gradient check of MLP([3, 8, 8, 4, 1]) with MSELoss (see exercise.py)."""

from __future__ import annotations

from .exercise import Exercise, ExerciseSuite


class TestExercise82(ExerciseSuite):
    exercise = Exercise("exercise_8_2", "82", dims=[3, 8, 8, 4, 1], loss="MSELoss", classes=None)
