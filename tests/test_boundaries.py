"""The kit's boundaries are folders: what the sandbox binds, what the Gradescope zip ships, what the
release notebook copies. Each test fails if a file outside its folder allowlist crosses.

- the sandbox: autograder/sandbox/inside/ and, of an assignment, only the folders the judge names
  (its inside/ and public/: sandbox/side.py), never graders/, a rubric, solutions/ or the course
  secret (bubblewrap's binds and, at the 'process' level, Landlock's readable paths); nothing in
  those folders imports the judge's side;
- the Gradescope zip: the folders of package.SHIPPED, never the nbgrader hooks, the batch, CI, the
  class reports or the build;
- the Gradescope zip: one assignment's folder, never another's;
- the release notebook's given cell: the modules of the assignment's public folder
  (autograder/assignments/<a>/public/).
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from autograder.course.files import cache_dir
from autograder.course.secret import secret_path
from autograder.routes.gradescope.package import NEVER, SHIPPED, contents, shipped
from autograder.sandbox import launch
from autograder.sandbox.inside import confine
from autograder.sandbox.side import ENGINE_ONLY, FOLDERS, MOUNT, StudentSide
from autograder.tools import build
from tests.nb74 import NB74

PACKAGE = ROOT / "autograder"
INSIDE = PACKAGE / "sandbox" / "inside"
PROBE = ROOT / "tests" / "assignment_probe"  # a test-only assignment: inside/, public/, graders/, rubric.toml
ASSIGNMENTS = [*sorted(p for p in (PACKAGE / "assignments").glob("*") if (p / "inside").is_dir()), PROBE]


def _kit_paths(paths: list[str]) -> list[Path]:
    """The paths of this repository among `paths` (not the interpreter, the system folders, nor the
    sanitized copies of the interpreter's sysconfig in the judge's cache, wherever it is)."""
    cache = cache_dir().resolve()
    interpreter = Path(sys.prefix).resolve()  # .venv sits inside a fresh checkout (make setup)
    resolved = [Path(p).resolve() for p in paths]
    return [
        p
        for p in resolved
        if p.is_relative_to(ROOT) and not p.is_relative_to(cache) and not p.is_relative_to(interpreter)
    ]


# -- the sandbox -------------------------------------------------------------------------------------


def _never_shown(shown: list[Path]) -> None:
    """None of `shown` is or holds graders/, a rubric, solutions/, the judge's side or the course secret."""
    for path in shown:
        assert not path.is_relative_to(ROOT / "solutions") and not path.is_relative_to(PACKAGE / "graders")
        assert not secret_path().resolve().is_relative_to(path)
        assert not [p for p in [path, *path.rglob("*")] if p.name in ("graders", "solutions", "rubric.toml")], path
        if path != INSIDE:  # an assignment's folder: inside/ or public/ of autograder/assignments/<name>/
            assert path.name in FOLDERS and path.parent in ASSIGNMENTS


def _bound(side: StudentSide = ENGINE_ONLY) -> tuple[list[str], list[str]]:
    cmd = launch._bwrap_command(["{fd}"], side=side)
    binds = [i for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind", "--bind-try", "--ro-bind-try")]
    assert cmd[-len(["{fd}"]) - 1] == "/runner/runner.py"
    return [cmd[i + 1] for i in binds], [cmd[i + 2] for i in binds]


def test_bwrap_binds_one_folder_of_the_kit_the_student_side() -> None:
    sources, targets = _bound()
    assert _kit_paths(sources) == [INSIDE]
    assert targets[sources.index(str(INSIDE))] == "/runner"
    _never_shown(_kit_paths(sources))


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda p: p.name)
def test_bwrap_binds_an_assignments_inside_and_public_beside_it_never_its_graders(assignment: Path) -> None:
    sources, targets = _bound(StudentSide.of(assignment))
    kit = _kit_paths(sources)
    assert kit == [INSIDE, *(assignment / name for name in FOLDERS if (assignment / name).is_dir())]
    assert [targets[sources.index(str(p))] for p in kit[1:]] == [f"{MOUNT}/{p.name}" for p in kit[1:]]
    _never_shown(kit)


def test_process_level_reads_one_folder_of_the_kit_the_student_side() -> None:
    read, _ = confine.process_paths()
    assert _kit_paths(read) == [INSIDE]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda p: p.name)
def test_process_level_reads_an_assignments_inside_and_public_never_its_graders(assignment: Path) -> None:
    side = StudentSide.of(assignment)
    folders = [path for path in side.folders]
    read, _ = confine.process_paths([side.inside_path(f, "process") for f in folders])
    assert _kit_paths(read) == [INSIDE, *folders]
    _never_shown(_kit_paths(read))


def test_a_student_side_binds_only_inside_and_public_of_one_assignment(tmp_path: Path) -> None:
    copy = tmp_path / "probe"
    shutil.copytree(PROBE, copy)
    other = tmp_path / "other"
    shutil.copytree(PROBE, other)
    for folders in (
        (copy / "graders",),
        (copy,),
        (copy / "inside", other / "public"),
        (copy / "inside", copy / "inside"),
        (Path("tests/assignment_probe/inside"),),  # relative: which folder depends on the cwd
    ):
        with pytest.raises(ValueError):
            StudentSide(folders)
    with pytest.raises(ValueError, match="handlers"):
        StudentSide((copy / "inside",), "graders.secret")
    (copy / "public" / "rubric.toml").write_text("", encoding="utf-8")
    (copy / "inside" / "graders").symlink_to(copy / "graders")
    for name in ("inside", "public"):
        with pytest.raises(ValueError, match="holds"):
            StudentSide((copy / name,))
    (copy / "public" / "rubric.toml").unlink()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "public").symlink_to(copy / "public", target_is_directory=True)
    with pytest.raises(ValueError, match="symbolic link"):
        StudentSide((tmp_path / "elsewhere" / "public",))
    assert (
        StudentSide((copy / "public",)).runner_arg("process")
        == f'{{"folders": {{"public": "{copy / "public"}"}}, "handlers": null}}'
    )
    assert ENGINE_ONLY.runner_arg("bwrap") == "{}"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(level, module) of every import in a file (level 0: absolute)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(0, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


@pytest.mark.parametrize("path", sorted(INSIDE.glob("*.py")), ids=lambda p: p.name)
def test_the_student_side_imports_only_itself_and_outside_packages(path: Path) -> None:
    for level, module in _imports(path):
        if level:
            assert level == 1, f"{path.name} imports above its folder: {'.' * level}{module}"
        else:
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top in ("numpy", "pyseccomp"), f"{path.name} imports {module}"


@pytest.mark.parametrize(
    "path",
    [p for a in ASSIGNMENTS for name in FOLDERS for p in sorted((a / name).rglob("*.py"))],
    ids=lambda p: "/".join(p.parts[-3:]),
)
def test_an_assignments_student_side_imports_only_its_inside_and_public(path: Path) -> None:
    """Its modules form one package in the sandbox (_assignment): from one folder, `..public` or
    `..inside` only (`..graders` is not there), else the standard library and NumPy."""
    for level, module in _imports(path):
        if level:
            assert level == 1 or (level == 2 and module.split(".")[0] in FOLDERS), (
                f"{path} imports {'.' * level}{module}"
            )
        else:
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or top == "numpy", f"{path} imports {module}"


def test_a_file_beside_the_student_side_is_what_the_sandbox_would_see(tmp_path: Path) -> None:
    """The folder is the boundary: a judge-side file put into inside/ would be bound (this is why
    the test above checks every file of the folder), while one beside it is not."""
    fake = tmp_path / "sandbox"
    shutil.copytree(INSIDE, fake / "inside", ignore=shutil.ignore_patterns("__pycache__"))
    (fake / "launch.py").write_text("# judge side\n", encoding="utf-8")
    saved = launch.INSIDE
    launch.INSIDE = fake / "inside"
    try:
        cmd = launch._bwrap_command([])
    finally:
        launch.INSIDE = saved
    assert str(fake / "inside") in cmd and not [a for a in cmd if a.startswith(str(fake / "launch.py"))]


# -- the Gradescope zip -------------------------------------------------------------------------------


def test_the_zip_ships_only_the_allowlisted_folders_of_the_package() -> None:
    names = [name for _, name in contents(NB74) if name.startswith("autograder/")]
    outside = [n for n in names if not shipped(Path(n).relative_to("autograder"), NB74)]
    assert not outside
    tops = {Path(n).relative_to("autograder").parts[0] for n in names}
    assert not tops & {"tools", "reports"}, tops
    assert not [n for n in names if n.startswith(("autograder/routes/nbgrader_hooks", "autograder/routes/batch"))]
    assert not [n for n in names if n.startswith("autograder/routes/ci")]
    # every folder named in the allowlist is there, whole (the judge imports across them)
    for entry in SHIPPED:
        on_disk = [p for p in (PACKAGE / entry).rglob("*") if p.is_file()] if (PACKAGE / entry).is_dir() else []
        on_disk = [p for p in on_disk if not NEVER & set(p.parts)]
        assert {f"autograder/{p.relative_to(PACKAGE).as_posix()}" for p in on_disk} <= set(names), entry
    # the zip's assignment, whole, and no other
    graded = [n for n in names if n.startswith("autograder/assignments/") and n != "autograder/assignments/__init__.py"]
    assert graded and all(n.startswith(f"autograder/assignments/{NB74.name}/") for n in graded)
    on_disk = {p for p in NB74.folder.rglob("*") if p.is_file() and not NEVER & set(p.parts)}
    assert {f"autograder/{p.relative_to(PACKAGE).as_posix()}" for p in on_disk} <= set(names)


def test_the_zip_takes_no_other_assignments_folder() -> None:
    other = Path("assignments/nb75_training_loop/graders/test_sgd.py")
    assert not shipped(other, NB74) and shipped(Path(f"assignments/{NB74.name}/graders/test_linear.py"), NB74)


def test_a_new_folder_of_the_package_is_left_out_until_named() -> None:
    assert not shipped(Path("some_new_route/secret.py"), NB74)
    assert not shipped(Path("routes/nbgrader_hooks/preprocessors/judge_scores.py"), NB74)
    assert shipped(Path(f"assignments/{NB74.name}/public/heatmaps.py"), NB74)
    assert shipped(Path("sandbox/inside/runner.py"), NB74)


# -- the release notebook's public code ---------------------------------------------------------------


def test_the_release_cell_takes_exactly_the_assignments_public_folder() -> None:
    public = build.public_of(NB74)
    on_disk = {p.name for p in public.folder.glob("*.py")} - {"__init__.py"}
    assert public.folder == NB74.folder / "public" and on_disk == set(public.modules)


def copied_public(tmp_path: Path) -> build.Public:
    folder = tmp_path / "public"
    shutil.copytree(NB74.public_dir, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return build.public_of(NB74, folder)


def test_a_module_added_to_the_public_folder_must_be_named(tmp_path: Path) -> None:
    public = copied_public(tmp_path)
    assert build.public_source(public) == build.public_source(build.public_of(NB74))
    (public.folder / "extra.py").write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds"):
        build.public_source(public)


@pytest.mark.parametrize(
    "line", ["from autograder.judge.grade import grade", "from ..graders import checks", "import autograder.results"]
)
def test_a_public_module_importing_the_kit_outside_its_folder_is_refused(tmp_path: Path, line: str) -> None:
    public = copied_public(tmp_path)
    visible = public.folder / "visible.py"
    visible.write_text(
        visible.read_text(encoding="utf-8").replace(
            "from __future__ import annotations\n",
            f"from __future__ import annotations\n\n{line}\n",
            1,
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="outside its public folder"):
        build.public_source(public)
