"""Notebook 74, matrix backpropagation: its rubric, hidden graders (graders/) and public visible-check code (public/)."""
