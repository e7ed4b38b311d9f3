"""nbgrader's formgrader serves a submission's files only from autograded/, never as a page.

formgrader's SubmissionFilesHandler serves `/formgrader/submissions/<id>/<path>` from
autograded/<student>/<assignment>/, but tornado decodes `%2F` in <path> and the handler checks
only that the result stays inside the course root: `..%2F..%2F..%2Fsubmitted%2F<s>%2F<a>%2Fnotes.html`
reaches a student's own file in submitted/ (or anything else under the root), served as text/html
on the Jupyter server's origin, where its script acts as the logged-in instructor (reads source/
through the contents API, starts kernels). Collect and autograde keep such files out of the
folders the kit writes, but submitted/ can also be filled by `nbgrader zip_collect` or by hand.

guard() narrows the handler: the file must resolve (symbolic links followed) inside autograded/,
and must not be a type a browser runs as a document (nbgrader_hooks.intake.active_document: HTML,
SVG, XML); anything else answers 404 as a missing file does. It patches the handler class in
place, once; nbgrader_config.py calls it when the formgrader loads the course's configuration
(which it does before serving anything), so no extra server option is needed. Enabling this
module as a server extension (`--ServerApp.jpserver_extensions autograder.routes.nbgrader_hooks.formgrader=True`)
does the same.
"""

from __future__ import annotations

import os
from typing import Any

GUARDED = "_nb74_guarded"


def allowed(course_root: str, autograded: str, absolute_path: str) -> bool:
    """Whether the formgrader may serve this file: inside autograded/ once every link is
    resolved, and not a document a browser would run."""
    from .intake import active_document

    top = os.path.realpath(os.path.join(course_root, autograded))
    real = os.path.realpath(absolute_path)
    inside = os.path.commonpath([top, real]) == top and real != top
    return inside and not active_document(os.path.basename(real)) and not active_document(absolute_path)


def guard() -> None:
    """Patch formgrader's SubmissionFilesHandler (see the module's docstring); idempotent."""
    from nbgrader.server_extensions.formgrader import handlers
    from tornado import web

    cls: Any = handlers.SubmissionFilesHandler
    if getattr(cls, GUARDED, False):
        return
    checked = cls.validate_absolute_path

    def validate_absolute_path(self: Any, root: str, absolute_path: str) -> str | None:
        coursedir = self.coursedir
        if not allowed(coursedir.root, coursedir.autograded_directory, absolute_path):
            raise web.HTTPError(404)
        return checked(self, root, absolute_path)  # type: ignore[no-any-return]

    cls.validate_absolute_path = validate_absolute_path
    setattr(cls, GUARDED, True)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "autograder.routes.nbgrader_hooks.formgrader"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    guard()
    serverapp.log.info("nb74: formgrader serves submission files from autograded/ only, no page")
