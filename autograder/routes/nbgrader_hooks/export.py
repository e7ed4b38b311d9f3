"""`nbgrader export` through the kit's CSV guard (`c.ExportApp.plugin_class` in nbgrader_config.py).

nbgrader's CsvExportPlugin joins the values with commas as they are: a name with a comma shifts
the columns, and an id or name starting with = + - @ is a formula in a spreadsheet (student ids
come from the inbound folders' names on the exchange route, names from the roster or the LMS).
Same columns and rows as nbgrader's, written by autograder.course.spreadsheet.write_csv.
"""

from __future__ import annotations

from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin

from ...course.spreadsheet import write_csv

COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]


class CsvExport(CsvExportPlugin):  # type: ignore[misc]  # nbgrader ships no types
    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        students = {str(s) for s in self.student}
        assignments = {str(a) for a in self.assignment}
        self.log.info("Exporting grades to %s", dest)
        rows: list[list[object]] = []
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gradebook.students:
                if students and student.id not in students:
                    continue
                row: dict[str, Any] = {
                    "assignment": assignment.name,
                    "duedate": assignment.duedate,
                    "student_id": student.id,
                    "last_name": student.last_name,
                    "first_name": student.first_name,
                    "email": student.email,
                    "max_score": assignment.max_score,
                }
                try:
                    sub = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:  # nothing submitted: 0, as nbgrader's export says
                    row |= {"timestamp": "", "raw_score": 0.0, "late_submission_penalty": 0.0, "score": 0.0}
                else:
                    penalty = sub.late_submission_penalty
                    row |= {
                        "timestamp": sub.timestamp,
                        "raw_score": sub.score,
                        "late_submission_penalty": penalty,
                        "score": max(0.0, sub.score - penalty),
                    }
                rows.append(["" if row[k] is None else str(row[k]) for k in COLUMNS])
        write_csv(dest, COLUMNS, rows)
