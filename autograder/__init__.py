"""Grading kit of the course's notebooks (autograder/assignments/: today Notebook 74, matrix
backpropagation): judge, hidden graders, nbgrader glue."""

import sys

# jsonschema (under nbformat) imports the optional `rfc3987_syntax` format checker, which builds a
# parser grammar at import (slow, once per process), for an "iri" string format no notebook schema
# uses. Marking it absent (None, as the import system reads it) keeps reading a notebook fast;
# jsonschema simply skips that checker.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
