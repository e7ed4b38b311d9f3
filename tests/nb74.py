"""The assignment most tests grade: Notebook 74 (autograder/assignments/nb74_matrix_backprop/)."""

from __future__ import annotations

from autograder.course.assignment import assignment

NB74 = assignment("nb74_matrix_backprop")
NB74_PACKAGE = NB74.package  # autograder.assignments.nb74_matrix_backprop
