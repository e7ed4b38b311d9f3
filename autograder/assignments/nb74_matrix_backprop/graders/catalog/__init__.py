"""The assignment's catalog of realistic student answers: bugs, and equivalent correct forms.

Hidden assignment data beside the graders (never released: tests/test_release_has_no_secrets.py
covers every file of autograder/). Every entry is the complete replacement source of ONE answer
cell of the notebook (the solution's cell with its backward — and, where a student would, its
forward — rewritten), tagged with the rubric part it belongs to:

- BUGS: the submission made of the solution with this one cell replaced must lose points on
  exactly that part (score < the part's maximum) and keep full points on every other part.
- DIAGNOSES: for each bug of a backward part and of the MLP, the family the judge must name.
- FORMS: mathematically equivalent correct answers; each must keep 100 points.

Used by `python -m autograder check` (autograder/tools/check.py), tests/test_graders_catalog.py
(through tests/bugs/catalog.py) and benchmarks/false_failures.py.
"""

from __future__ import annotations

from .bugs_activations import ACTIVATIONS
from .bugs_issue23 import ISSUE23_A
from .bugs_issue23_more import ISSUE23_B
from .bugs_linear import LINEAR
from .bugs_losses import LOSSES
from .bugs_more import MORE
from .diagnoses import DIAGNOSES
from .entries import CACHE_X, Entry, form, solution_cell, with_backward
from .forms_layers import LAYERS
from .forms_losses import LOSSES_AND_EXERCISES

__all__ = ["BUGS", "CACHE_X", "DIAGNOSES", "FORMS", "Entry", "form", "forms_by_round", "solution_cell", "with_backward"]

BUGS: list[Entry] = LINEAR + ACTIVATIONS + LOSSES + MORE + ISSUE23_A + ISSUE23_B
FORMS: list[Entry] = LAYERS + LOSSES_AND_EXERCISES


def forms_by_round() -> list[list[Entry]]:
    """The correct forms grouped so that each group has at most one form per cell (one submission each)."""
    groups: list[list[Entry]] = []
    for entry in FORMS:
        for g in groups:
            if all(e.cell != entry.cell for e in g):
                g.append(entry)
                break
        else:
            groups.append([entry])
    return groups


def _check_unique() -> None:
    names = [e.name for e in BUGS + FORMS]
    if len(names) != len(set(names)):
        raise ValueError("catalog: duplicate names")


_check_unique()
