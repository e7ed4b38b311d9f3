"""What Gradescope's autograder.zip holds, in one place, and its making.

The zip is built for one assignment, and records which (the file ASSIGNMENT_FILE at its root). It
mirrors the kit's layout, so the judge finds the given code and the reference where it always
does: the folders of autograder/ that grading one notebook uses (SHIPPED, an allowlist, and that
assignment's folder autograder/assignments/<a>/, no other),
source/<a>/ (the judge takes the given code from the instructor's master, never from the
student's copy), the released notebook (what a submission is laid on), solutions/<a>/reference.py, the judge's pinned requirements, the course secret
(the hidden inputs must be the ones every other route draws), and at the root setup.sh and
run_autograder. Nothing else of the package (the nbgrader hooks, the batch, CI, the class
reports, the build) and nothing generated on this machine (.cache, __pycache__).
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ...course.assignment import ROOT, Assignment
from ...course.files import atomic_file
from ...course.secret import course_secret

HERE = Path(__file__).resolve().parent
AT_ROOT = ("setup.sh", "run_autograder")  # Gradescope's contract: at the zip's root
SECRET_NAME = "course-secret"
ASSIGNMENT_FILE = "assignment"  # at the zip's root: the name of the assignment it grades

# What of autograder/ the zip holds, by folder: what `python -m autograder grade` imports (its
# --junit/--summary flags, and so reports/, are not used here) and this route. Anything else, and
# any folder added later, stays out until it is named here.
SHIPPED = (
    "__init__.py",
    "__main__.py",
    "results.py",
    "requirements-judge.txt",
    "course",
    "intake",
    "judge",
    "graders",
    "assignments/__init__.py",
    "sandbox",
    "feedback",
    "routes/__init__.py",
    "routes/gradescope",
)
NEVER = frozenset({"__pycache__", ".cache"})


def contents(assignment: Assignment) -> Iterator[tuple[Path, str]]:
    """(file on disk, name in the zip) for every file of the zip but the secret and ASSIGNMENT_FILE."""
    for name in AT_ROOT:
        yield HERE / name, name
    package = ROOT / "autograder"
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if path.is_file() and not NEVER & set(rel.parts) and shipped(rel, assignment):
            yield path, f"autograder/{rel.as_posix()}"
    for path in sorted((ROOT / "source" / assignment.name).rglob("*")):
        if path.is_file() and not NEVER & set(path.parts) and ".ipynb_checkpoints" not in path.parts:
            yield path, path.relative_to(ROOT).as_posix()
    reference = assignment.reference()
    yield reference, reference.relative_to(ROOT).as_posix()
    released = assignment.release()  # the skeleton every submission is laid on (autograder.intake.canonical)
    yield released, released.relative_to(ROOT).as_posix()


def shipped(rel: Path, assignment: Assignment) -> bool:
    """Whether a path of autograder/ (relative to it) is in the zip's allowlist: SHIPPED and the
    folder of the assignment the zip grades."""
    return any(rel.as_posix() == x or rel.as_posix().startswith(x + "/") for x in (*SHIPPED, folder(assignment)))


def folder(assignment: Assignment) -> str:
    """The assignment's folder, relative to autograder/."""
    return assignment.folder.relative_to(ROOT / "autograder").as_posix()


def build_zip(out: Path, assignment: Assignment) -> Path:
    """out/autograder.zip for the assignment, written anew (scripts executable; the secret readable
    by its owner only)."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / "autograder.zip"
    with atomic_file(target) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        for path, name in contents(assignment):
            _add(z, name, path.read_bytes(), 0o755 if name in AT_ROOT else 0o644)
        _add(z, ASSIGNMENT_FILE, assignment.name.encode() + b"\n", 0o644)
        _add(z, SECRET_NAME, course_secret().hex().encode() + b"\n", 0o600)
    return target


def _add(z: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # same files, same zip
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)
