"""Which file of a Gradescope submission is graded, and what the student is told about it.

Gradescope keeps whatever the student uploaded (any names, folders, several files). Only regular
files count: a symbolic link could name a file of the autograder itself (the source notebook holds
the solution). Of the .ipynb files:
1. one named as the release names it (e.g. matrix_backprop.ipynb) is graded; the others are noted;
2. else, the files that are this assignment's notebook (they hold its graded cells' ids): the
   only one, or, of several, the one modified last (then the name of the one chosen, and why);
3. else, if there is exactly one .ipynb, it is graded anyway (the judge then says what is wrong
   with it: not JSON, not a notebook...);
4. else nothing is graded: no notebook, or several and none of them this assignment's.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ...course.assignment import Assignment
from . import messages as say

MAX_FILES = 1000  # a submission folder with more is not walked further


@dataclass(frozen=True)
class Choice:
    notebook: Path | None  # None: nothing to grade (reason says why)
    notes: tuple[str, ...] = ()  # told to the student beside the grade
    reason: str = ""  # why nothing was graded


def regular_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The submission's regular files (no symbolic link followed), and a note per skipped link."""
    files: list[Path] = []
    skipped: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".ipynb_checkpoints" and not d.startswith("__MACOSX"))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                skipped.append(say.link_not_read(_shown(path, folder)))
            elif stat.S_ISREG(mode):
                files.append(path)
            if len(files) >= MAX_FILES:
                return files, skipped
    return files, skipped


def is_assignment_notebook(path: Path, assignment: Assignment) -> bool:
    """Holds this assignment's graded cells (their ids), or, its metadata lost, defines one of its
    answers (autograder.intake.which): read by the intake with its bounds, never executed."""
    from ...intake.which import is_notebook_of

    return is_notebook_of(path, assignment)


def choose(folder: Path, assignment: Assignment) -> Choice:
    expected = f"{assignment.notebook}.ipynb"
    files, notes = regular_files(folder)
    notebooks = [f for f in files if f.suffix.lower() == ".ipynb"]
    if not notebooks:
        seen = "、".join(_shown(f, folder) for f in files[:10]) or say.NOTHING
        return Choice(None, tuple(notes), say.no_notebook(expected, seen))
    named = [f for f in notebooks if f.name == expected]
    # parsed only when no file has the released name (the judge reads the chosen file anyway)
    ours = [] if named else [f for f in notebooks if is_assignment_notebook(f, assignment)]
    if named:
        chosen = min(named, key=lambda f: len(f.relative_to(folder).parts))  # the top-most
        why = say.named_as_expected(expected)
    elif len(ours) == 1:
        chosen, why = ours[0], say.ONLY_ASSIGNMENT_NOTEBOOK
        notes.append(say.graded_under_another_name(_shown(chosen, folder), expected))
    elif ours:
        chosen = max(ours, key=lambda f: (f.stat().st_mtime, f.name))
        why = say.LATEST_ASSIGNMENT_NOTEBOOK
        notes.append(say.graded_under_another_name(_shown(chosen, folder), expected))
    elif len(notebooks) == 1:
        chosen, why = notebooks[0], say.ONLY_NOTEBOOK
        if chosen.name != expected:
            notes.append(say.graded_under_another_name(_shown(chosen, folder), expected))
    else:
        seen = "、".join(_shown(f, folder) for f in notebooks[:10])
        return Choice(None, tuple(notes), say.no_assignment_notebook(seen, expected))
    rest = [f for f in notebooks if f != chosen]
    if rest:
        skipped = "、".join(_shown(f, folder) for f in rest[:10])
        notes.append(say.others_skipped(len(notebooks), why, _shown(chosen, folder), skipped))
    return Choice(chosen, tuple(notes))


def _shown(path: Path, folder: Path) -> str:
    """The file's name as the student uploaded it, printable and short."""
    name = path.relative_to(folder).as_posix()
    name = "".join(ch if ch.isprintable() else "?" for ch in name)
    return name if len(name) <= 80 else name[:77] + "…"
