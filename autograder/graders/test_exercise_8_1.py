"""Exercise 8.1: the setup of a gradient check with SoftmaxCrossEntropy (never the student's backward).

The answer cell runs with numerical_gradient_check replaced by a recorder; the recorded arguments
(model as described layers, loss class, X, t) are graded, and the check is re-run here with the
REFERENCE classes on the student's parameters and data, so a backward bug is never charged twice.
"""

from __future__ import annotations

from .exercise import Exercise

EXERCISE = Exercise("exercise_8_1", "81", dims=[2, 4, 3], loss="SoftmaxCrossEntropy", classes=3)


def test_variables_defined(student):
    EXERCISE.check_variables(student)


def test_model_architecture(student):
    EXERCISE.check_architecture(student)


def test_loss_and_data(student):
    EXERCISE.check_loss_and_data(student)


def test_gradient_check_passes(student, reference):
    EXERCISE.check_gradient(student, reference)
