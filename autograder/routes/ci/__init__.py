"""Continuous integration: the student repository's check data, and the instructor's collection of
students' repositories for the batch (see .github/workflows/grade-class.yml)."""
