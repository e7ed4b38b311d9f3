"""pyproject.toml's package list and package data cover the whole of autograder/: every folder
with modules is a package of the wheel, every other file the kit reads (rubric, templates, the
graders' pytest.ini, the scripts) is package data. The wheel itself (pip wheel, about 10 s and an
index) was checked by hand: 132 files under autograder/, the same as `git ls-files autograder`."""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

from autograder.course.assignment import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
PACKAGE = ROOT / "autograder"


def kit_files() -> list[Path]:
    return sorted(
        p
        for p in PACKAGE.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and all(not part.startswith(".") for part in p.parts[len(ROOT.parts) :])
    )


def test_every_folder_of_modules_is_a_package_found() -> None:
    include = SETUPTOOLS["packages"]["find"]["include"]
    for folder in {p.parent for p in kit_files() if p.suffix == ".py"}:
        name = ".".join(folder.relative_to(ROOT).parts)
        assert (folder / "__init__.py").is_file(), f"{name}: no __init__.py, so no package"
        assert any(fnmatch.fnmatchcase(name, pattern) for pattern in include), name


def test_every_other_file_is_package_data() -> None:
    data = SETUPTOOLS["package-data"]
    covered = {
        p
        for package, patterns in data.items()
        for pattern in patterns
        for p in ROOT.joinpath(*package.split(".")).glob(pattern)
    }
    others = [p for p in kit_files() if p.suffix not in (".py", ".pyc")]
    assert others and not [p.relative_to(ROOT).as_posix() for p in others if p not in covered]
