"""Student side: running the student's cells, and what the judge is told when their code raises.

Runs inside the sandbox (this folder is all it sees of the kit): the standard library only.
"""

from __future__ import annotations

import linecache
import traceback
from collections.abc import Callable
from typing import Any

CELL_PREFIX = "<cell "


def run_cell(
    name: str,
    source: str,
    ns: dict[str, Any],
    skip: frozenset[int] = frozenset(),
    progress: Callable[[int, int], object] | None = None,
) -> None:
    """Execute a cell statement by statement under the file name <cell NAME> (its lines known to
    tracebacks). `progress(i, line)` announces each top-level statement before it runs, so that the
    judge can skip one that hangs or kills the process and still keep the rest of the cell."""
    import ast  # imported ahead by the fork server, lazily by a one-shot runner

    filename = f"{CELL_PREFIX}{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tree = ast.parse(source, filename)
    for i, node in enumerate(tree.body):
        if i in skip:
            continue
        if progress is not None:
            progress(i, node.lineno)
        exec(compile(ast.Module([node], type_ignores=[]), filename, "exec"), ns)


def error_info(exc: BaseException) -> dict[str, Any]:
    """Type, message and the student's own line where it happened (no judge frames exist here)."""
    where = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(CELL_PREFIX):
            where = {
                "cell": frame.filename[len(CELL_PREFIX) : -1],
                "line": frame.lineno,
                "function": str(frame.name)[:100],
                "code": (frame.line or "")[:200],
            }
    try:
        message = str(exc)[:300]
    except BaseException:  # a __str__ that raises: the type still says what happened
        message = ""
    # the judge bounds and cleans all of this again: this process is the student's
    return {"type": str(type(exc).__name__)[:100], "message": message, "where": where}
