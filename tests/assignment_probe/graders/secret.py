"""A grader's module the student must not import or read."""

HIDDEN = "graders-secret-8d41c07a"
