"""An assignment's student-side code, as the judge hands it to the sandbox: the folders of the
assignment the student's process may see, and the module whose request kinds it adds.

    side = StudentSide.of(folder)                 # folder/inside/ and folder/public/, inside/ops.py
    with StudentProcess(side=side) as proc: ...   # or ForkServer(side=side): one side per server

The folders are an allowlist: only direct subfolders of one assignment folder named in FOLDERS
(inside/: request handlers; public/: trusted helpers; NumPy and the standard library only), never
graders/, the rubric, solutions/, nor a folder holding any of them. bwrap binds each read-only at
MOUNT/<name> beside the engine's student side (/runner); at the 'process' level Landlock lets the
runner read them where they are. Inside, they form the package _assignment (inside/assignment.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FOLDERS = ("inside", "public")  # the only folders of an assignment the student's process may see
HANDLERS = "inside.ops"  # the default handler module: HANDLERS of the assignment's inside/ops.py
MOUNT = "/assignment"  # where bwrap shows them
NEVER = ("graders", "solutions", "rubric.toml")  # refused anywhere in a folder


@dataclass(frozen=True)
class StudentSide:
    """folders: the assignment's student-side folders (each named in FOLDERS, all in one folder);
    handlers: a module among them, dotted from the folders ("inside.ops"), whose HANDLERS (kind ->
    function(server, request) -> reply) replace or add to the part server's for every part child.
    The default, no folder, is the engine's student side alone."""

    folders: tuple[Path, ...] = ()
    handlers: str | None = None

    def __post_init__(self) -> None:
        names = [f.name for f in self.folders]
        if len(set(names)) != len(names) or not set(names) <= set(FOLDERS):
            raise ValueError(f"a student side binds only the folders {', '.join(FOLDERS)}: {names}")
        if len({f.resolve().parent for f in self.folders}) > 1:
            raise ValueError("the folders of a student side belong to one assignment")
        for folder in self.folders:
            if folder.is_symlink() or not folder.is_dir() or not folder.is_absolute():
                raise ValueError(f"not a folder (absolute, no symbolic link): {folder}")
            bad = [p for p in folder.rglob("*") if p.name in NEVER]
            if bad:
                raise ValueError(f"a student-side folder holds {bad[0].relative_to(folder.parent)}")
        if self.handlers is not None:
            parts = self.handlers.split(".")
            if len(parts) < 2 or parts[0] not in names or not all(p.isidentifier() for p in parts):
                raise ValueError(f"handlers must name a module of the folders {names}: {self.handlers!r}")

    @classmethod
    def of(cls, assignment: Path) -> StudentSide:
        """An assignment folder's inside/ and public/ (those it has), and inside/ops.py if there."""
        folder = assignment.resolve()
        folders = tuple(folder / name for name in FOLDERS if (folder / name).is_dir())
        handlers = HANDLERS if (folder / (HANDLERS.replace(".", "/") + ".py")).is_file() else None
        return cls(folders, handlers)

    @classmethod
    def for_grading(cls, assignment: Path) -> StudentSide:
        """What grading the assignment in this folder binds: of() when it has request kinds of its
        own (an inside/ folder), else the engine's student side alone (Notebook 74: its public/ is
        the release's visible checks, which the judge's graders never ask the student's side for)."""
        return cls.of(assignment) if (assignment / "inside").is_dir() else cls()

    def inside_path(self, folder: Path, level: str) -> str:
        """Where the student's process finds `folder`: under MOUNT (bwrap), else where it is."""
        return f"{MOUNT}/{folder.name}" if level == "bwrap" else str(folder)

    def binds(self) -> list[str]:
        """bwrap's arguments binding the folders read-only."""
        return [arg for f in self.folders for arg in ("--ro-bind", str(f), self.inside_path(f, "bwrap"))]

    def runner_arg(self, level: str) -> str:
        """The runner's SIDE argument (inside/assignment.py reads it)."""
        if not self.folders:
            return "{}"
        folders = {f.name: self.inside_path(f, level) for f in self.folders}
        return json.dumps({"folders": folders, "handlers": self.handlers}, sort_keys=True)


ENGINE_ONLY = StudentSide()
