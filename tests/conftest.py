"""Shared fixtures of the kit's test suite: keep this small and generic."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `autograder` importable however pytest is started
    sys.path.insert(0, str(ROOT))


def execute_notebook(
    path: Path, allow_errors: bool = False, timeout: int = 120, extra_cells: Sequence[str] = ()
) -> NotebookNode:
    """Execute a notebook file top to bottom in a real "python3" kernel, cwd an empty temp dir.

    Returns the executed notebook (outputs, and per-cell timing in each cell's metadata.execution).
    extra_cells: code appended (in memory only) after the last cell, e.g. a probe of kernel state.
    With allow_errors=False the first failing cell raises nbclient's CellExecutionError.
    """
    import nbformat
    from nbclient import NotebookClient

    import autograder  # noqa: F401  (first: it makes importing nbformat fast)

    nb = nbformat.read(path, as_version=4)
    for code in extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(code))
    with tempfile.TemporaryDirectory(prefix="nb74-exec-") as cwd:
        NotebookClient(
            nb,
            kernel_name="python3",
            timeout=timeout,
            allow_errors=allow_errors,
            record_timing=True,
            resources={"metadata": {"path": cwd}},
        ).execute()
    return nb


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session", name="execute_notebook")
def execute_notebook_fixture() -> Callable[..., NotebookNode]:
    return execute_notebook
