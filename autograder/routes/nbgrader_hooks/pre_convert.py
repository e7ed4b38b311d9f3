"""`c.Autograde.pre_convert_hook` (nbgrader_config.py imports it): prepare_submission."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ...course import assignment as registry
from ...course.assignment import judged
from ...intake.read import NOTES_FILE, shown
from . import messages as say


def prepare_submission(assignment: str, student: str, notebooks: list[str]) -> None:
    """`c.Autograde.pre_convert_hook`: before nbgrader copies a submission's files, lay its folder
    out as the batch reads it, so that both routes grade the same notebook with the same note
    (zip_collect and folders placed by hand never went through SafeCollect):

    - a FIFO, socket or device is removed (it holds no data; nbgrader's copy would fail the student);
    - a timestamp.txt that is not a date is removed (graded without a time, as the batch does);
    - where the released notebook's name is missing, the notebook the batch would grade
      (autograder.intake.submissions.choose_notebook: the only one, else the newest) is renamed to it,
      and `notebooks` (nbgrader's own list, passed in) names it. The note goes in NOTES_FILE.

    nbgrader passes its CLI filters as `assignment` and `student`, not the submission's: the folder
    is the notebooks'.
    For an assignment the judge does not grade, only special files are removed (nbgrader's copy of
    a FIFO would wait forever), without a note: the rest is nbgrader's, as without the kit."""
    from ...intake.submissions import choose_notebook, read_timestamp

    if not notebooks:
        return
    folder = Path(notebooks[0]).parent
    notes = []
    for top, dirs, files in os.walk(folder):
        for name in files + dirs:
            path = os.path.join(top, name)
            st = os.lstat(path)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                os.unlink(path)
                notes.append(say.not_regular_not_used(shown(os.path.relpath(path, folder))))
    if not judged(folder.name):  # submitted/<student>/<assignment>/ (nbgrader passes its CLI filter)
        return
    _, stamp_note = read_timestamp(folder, folder.parents[2])
    if stamp_note:  # nbgrader would fail this student: graded without a time, as in the batch
        os.unlink(folder / "timestamp.txt")
        notes.append(stamp_note)
    expected = folder / f"{registry.assignment(folder.name).notebook}.ipynb"
    if not os.path.lexists(expected):
        chosen, note = choose_notebook(folder, expected.name)
        if chosen is not None:
            os.rename(chosen, expected)
            notebooks[:] = [str(expected) if p == str(chosen) else p for p in notebooks]
            if str(expected) not in notebooks:
                notebooks.append(str(expected))
            notes.append(note)
    if notes:
        with open(folder / NOTES_FILE, "a", encoding="utf-8") as f:
            f.write("".join(f"{n}\n" for n in notes if n))
