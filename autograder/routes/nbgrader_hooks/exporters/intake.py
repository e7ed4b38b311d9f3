"""`c.Autograde.exporter_class`: IntakeExporter, `nbgrader autograde` reading a submission through
the kit's intake (see nbgrader_hooks/intake.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from nbconvert.exporters import NotebookExporter
from nbformat.notebooknode import NotebookNode

from ....course.assignment import judged
from ..intake import active_document, as_read, linked_files, take_in


class IntakeExporter(NotebookExporter):
    """`c.Autograde.exporter_class`: see the module's docstring. For an assignment the judge does not
    grade (course.assignment.judged), nbgrader reads the notebook itself, as without the kit; only
    the guards of the course's folders stay (files copied from a link, pages the formgrader would
    serve, removed) and a notebook that is a symbolic link is not read (nbgrader records no grade)."""

    def from_filename(
        self, filename: str, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[NotebookNode, dict[str, Any]]:  # nbconvert's annotation; a NotebookExporter's is text
        converter = self.parent
        if converter is None or not getattr(converter, "_sanitizing", False):  # second pass: nbgrader's own
            return super().from_filename(filename, resources, **kw)
        coursedir = converter.coursedir
        root = Path(os.path.abspath(coursedir.root))  # as nbgrader builds `filename`
        path = Path(os.path.abspath(filename))
        info = (resources or {}).get("nbgrader", {})
        assignment, student = info.get("assignment"), info.get("student")
        release_path = Path(coursedir.format_path(coursedir.release_directory, ".", assignment)) / path.name
        self._remove_linked_copies(
            path.parent,
            root,
            Path(converter._format_dest(assignment, student)),
            Path(coursedir.format_path(coursedir.source_directory, ".", assignment)),
        )
        self._remove_active_documents(
            Path(converter._format_dest(assignment, student)),
            Path(coursedir.format_path(coursedir.source_directory, ".", assignment)),
        )
        if not judged(str(assignment)):
            if path.is_symlink():  # nbgrader would follow it to any file of ours: this student fails
                raise ValueError(f"{path.name} is a symbolic link: not read")
            return super().from_filename(filename, resources, **kw)
        nb = take_in(
            path, root, release_path, str(assignment), self.log
        ).notebook  # its notes: JudgeScores, IntakeNotes
        node = as_read(nb)
        out = self.from_notebook_node(node, resources, **kw)  # type: ignore[no-untyped-call]
        return cast(tuple[NotebookNode, dict[str, Any]], out)

    def _remove_linked_copies(self, folder: Path, root: Path, dest: Path, source: Path) -> None:
        """Delete what nbgrader's init_assignment copied from a link (the master copies it wrote
        from source/ over them stay)."""
        links = linked_files(folder, root)
        if links is None:
            links = [os.path.relpath(os.path.join(t, f), dest) for t, _, fs in os.walk(dest) for f in fs]
        for rel in links:
            copy = dest / rel
            if (source / rel).is_file() or not copy.is_file():
                continue
            self.log.warning("removing %s: copied from a symbolic link in the submission", copy)
            copy.unlink()

    def _remove_active_documents(self, dest: Path, source: Path) -> None:
        """Delete the student's extra files the formgrader would serve as a scripted page (see the
        module's docstring); files of source/ stay, the submitted originals are left untouched."""
        for top, _, files in os.walk(dest):
            for name in files:
                copy = Path(top, name)
                if active_document(name) and not (source / copy.relative_to(dest)).is_file():
                    self.log.warning("removing %s: a page the formgrader would serve from its own origin", copy)
                    copy.unlink()
