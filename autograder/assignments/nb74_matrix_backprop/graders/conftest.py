"""Notebook 74's hidden graders run with the engine's fixtures (autograder/graders/fixtures.py):
`student`, `reference` (solutions/nb74_matrix_backprop/reference.py), `passed_parts`, `grading`,
and `grader_seed` (autograder/graders/seeds.py)."""

pytest_plugins = ("autograder.graders.fixtures",)
