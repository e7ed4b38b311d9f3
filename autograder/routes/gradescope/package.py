"""What Gradescope's autograder.zip holds, in one place, and its making.

The zip mirrors the kit's layout, so the judge finds the given code and the reference where it
always does: the judge's part of autograder/ (the sandbox, the graders, the rubric, the diagnosis),
source/<a>/ (the judge takes the given code from the instructor's master, never from the
student's copy), the released notebook (what a submission is laid on), solutions/<a>/reference.py, the judge's pinned requirements, the course secret
(the hidden inputs must be the ones every other route draws), and at the root setup.sh and
run_autograder. Nothing of the instructor side (nbgrader glue, the batch, the build, the
feedback drawing) and nothing generated on this machine (.cache, __pycache__).
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ...course.assignment import ROOT, load_rubric, release_notebook
from ...course.secret import course_secret

HERE = Path(__file__).resolve().parent
AT_ROOT = ("setup.sh", "run_autograder")  # Gradescope's contract: at the zip's root
SECRET_NAME = "course-secret"

# Modules of autograder/ that only the instructor's side imports (grading a notebook does not).
INSTRUCTOR_ONLY = frozenset(
    {
        "tools",
        "routes/batch",
        "routes/nbgrader_hooks",
        "diagnosis/heatmaps.py",
        "feedback/sanitize.py",
        "reports/spreadsheet.py",
        "feedback/templates",
        "reports/templates",
    }
)
NEVER = frozenset({"__pycache__", ".cache"})


def contents() -> Iterator[tuple[Path, str]]:
    """(file on disk, name in the zip) for every file of the zip but the secret."""
    rubric = load_rubric()
    for name in AT_ROOT:
        yield HERE / name, name
    package = ROOT / "autograder"
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if path.is_file() and not NEVER & set(rel.parts) and not _instructor_only(rel):
            yield path, f"autograder/{rel.as_posix()}"
    for path in sorted((ROOT / "source" / rubric.assignment).rglob("*")):
        if path.is_file() and not NEVER & set(path.parts) and ".ipynb_checkpoints" not in path.parts:
            yield path, path.relative_to(ROOT).as_posix()
    reference = ROOT / "solutions" / rubric.assignment / "reference.py"
    yield reference, reference.relative_to(ROOT).as_posix()
    released = release_notebook()  # the skeleton every submission is laid on (autograder.intake.canonical)
    yield released, released.relative_to(ROOT).as_posix()


def _instructor_only(rel: Path) -> bool:
    return any(rel.as_posix() == x or rel.as_posix().startswith(x + "/") for x in INSTRUCTOR_ONLY)


def build_zip(out: Path) -> Path:
    """out/autograder.zip, written anew (scripts executable; the secret readable by its owner only)."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / "autograder.zip"
    tmp = target.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for path, name in contents():
            _add(z, name, path.read_bytes(), 0o755 if name in AT_ROOT else 0o644)
        _add(z, SECRET_NAME, course_secret().hex().encode() + b"\n", 0o600)
    tmp.replace(target)
    return target


def _add(z: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # same files, same zip
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)
