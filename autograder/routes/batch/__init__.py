"""`python -m autograder batch`: a class graded in parallel (local processes or Dask) into nbgrader's gradebook."""
