"""One folder per test run, shared by the run's pytest processes (pytest-xdist's workers), for the
artefacts every worker would otherwise build again: the released course, the Gradescope image, the
1,000-student class, the demo course.

The run's first process (xdist's controller, or the only process) makes the folder in
pytest_configure and names it in $NB74_TEST_RUN_DIR, which the workers it starts inherit; it removes
the folder when the run ends. built(name, make) is the folder `name` in it, made by make(folder) in
whichever process asks first while holding an flock on `name.lock`: the others wait on that lock and
then read what it made. A make() that raised leaves no `name.built`, so the next asker tries again
and fails the same way in its own test.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

ENV = "NB74_TEST_RUN_DIR"


def start() -> Path:
    """The run's folder, made by the run's first process (conftest's pytest_configure)."""
    folder = Path(tempfile.mkdtemp(prefix="nb74-test-run-"))
    os.environ[ENV] = str(folder)
    return folder


def end(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def root() -> Path:
    """$NB74_TEST_RUN_DIR; outside a pytest run (a script importing tests/), a folder of this process."""
    if ENV not in os.environ:
        atexit.register(end, start())
    return Path(os.environ[ENV])


F = TypeVar("F", bound=Callable[..., Any])


def run_wide(fixture: F) -> F:
    """Mark a fixture whose value is made once per run through built() (so the suite's xdist groups
    need not keep its tests in one process: tests/conftest.py)."""
    fixture.run_wide = True  # type: ignore[attr-defined]
    return fixture


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on the file `path` (made if missing): the run's other processes, and
    this process's other threads (flock locks each open of the file), wait until it is let go."""
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def built(name: str, make: Callable[[Path], None]) -> Path:
    """The run's folder `name`: make(folder) once per run, whichever process or thread asks first."""
    base = root()
    folder = base / name
    with locked(base / f"{name}.lock"):
        if not (base / f"{name}.built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (base / f"{name}.built").touch()
    return folder
