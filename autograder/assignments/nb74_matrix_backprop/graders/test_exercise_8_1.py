"""Exercise 8.1: the setup of a gradient check of MLP([2, 4, 3]) with SoftmaxCrossEntropy (see exercise.py)."""

from __future__ import annotations

from .exercise import Exercise, ExerciseSuite


class TestExercise81(ExerciseSuite):
    exercise = Exercise("exercise_8_1", "81", dims=[2, 4, 3], loss="SoftmaxCrossEntropy", classes=3)
