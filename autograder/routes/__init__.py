"""The grading routes, each calling the same judge with the same rubric: batch, nbgrader hooks, Gradescope, CI."""
