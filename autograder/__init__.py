"""Grading kit for Notebook 74 (matrix backpropagation): judge, hidden graders, nbgrader glue."""
