"""The exit codes of `python -m autograder grade` and `batch`: the contract between the CLI and the
routes that run it as a process (Gradescope's runner, CI's grade.sh)."""

EXIT_GRADED, EXIT_PROBLEM, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# The kit's own failure: a grader raised, or the graders and the rubric disagree (results.GRADER_ERROR).
# grade writes no results; the batch records nothing for the submissions concerned.
EXIT_GRADER_ERROR = 3
