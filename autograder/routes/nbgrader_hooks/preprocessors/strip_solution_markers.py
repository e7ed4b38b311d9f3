"""`c.GenerateSolution.preprocessors`: StripSolutionMarkers."""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode


class StripSolutionMarkers(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader ships no types
    """Drop the `### BEGIN SOLUTION` / `### END SOLUTION` lines, keeping the code between them."""

    begin_solution_delimeter = Unicode("BEGIN SOLUTION").tag(config=True)
    end_solution_delimeter = Unicode("END SOLUTION").tag(config=True)

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        lines = cell.source.split("\n")
        kept = [ln for ln in lines if self.begin_solution_delimeter not in ln and self.end_solution_delimeter not in ln]
        cell.source = "\n".join(kept)
        return cell, resources
