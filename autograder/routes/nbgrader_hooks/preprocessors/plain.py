"""`c.Autograde.autograde_preprocessors`: which assignment a preprocessor works on.

The judge grades the assignments it has graders for (autograder.course.assignment.judged); every
other assignment of the course is autograded by nbgrader's own preprocessors, exactly as without
the kit. One list serves both (nbgrader has one per course): the kit's preprocessors
(JudgeScores, IntakeNotes) pass a notebook of another assignment through untouched, SaveJudgeGrades
is nbgrader's SaveAutoGrades there, and the nbgrader preprocessors below, which the judge replaces,
run only there. Listed in nbgrader's default order, the other assignments get exactly
Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
AssignLatePenalties, CheckCellMetadata.
"""

from __future__ import annotations

from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import preprocessors as nbgrader_preprocessors

from ....course.assignment import Assignment, assignment, judged, only_assignment


def judged_notebook(resources: ResourcesDict | dict[str, Any]) -> bool:
    """Whether the notebook nbgrader is working on belongs to an assignment the judge grades; one
    that names no assignment (not from nbgrader's converters: the kit's own calls) is the judge's."""
    name = ((resources or {}).get("nbgrader") or {}).get("assignment")
    return name is None or judged(str(name))


def judged_assignment(resources: ResourcesDict | dict[str, Any]) -> Assignment | None:
    """The assignment nbgrader is working on (its resources name it), if the judge grades it; None
    for any other. A notebook that names none (the kit's own calls) is the kit's only assignment's."""
    name = ((resources or {}).get("nbgrader") or {}).get("assignment")
    if name is None:
        return only_assignment()
    return assignment(str(name)) if judged(str(name)) else None


class Execute(nbgrader_preprocessors.Execute):  # type: ignore[misc]  # nbgrader ships no types
    """nbgrader's Execute (its configuration, `c.Execute.timeout`, applies), for the assignments the
    judge does not grade; the judge's notebooks never run in nbgrader's kernel."""

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict, *args: Any, **kw: Any
    ) -> tuple[NotebookNode, ResourcesDict]:
        if judged_notebook(resources):
            return nb, resources
        return super().preprocess(nb, resources, *args, **kw)  # type: ignore[no-any-return]


class IgnorePattern(nbgrader_preprocessors.IgnorePattern):  # type: ignore[misc]  # nbgrader ships no types
    """nbgrader's IgnorePattern (stderr lines matching a pattern dropped from what Execute wrote),
    for the assignments the judge does not grade (the judge writes its own outputs)."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        if judged_notebook(resources):
            return nb, resources
        return super().preprocess(nb, resources)  # type: ignore[no-any-return]
