"""Student side: an assignment's own code in the student's process, and the request kinds it adds.

The judge names it in the runner's SIDE argument (JSON, sandbox/side.py builds it):

    {"folders": {"inside": "/assignment/inside", "public": "/assignment/public"}, "handlers": "inside.ops"}

Each folder becomes a subpackage of the package _assignment (_assignment.inside, _assignment.public),
so that a module of one imports another's as in the kit (`from ..public import helpers`). The
package itself has no folder: nothing beside the folders named (graders/, the rubric) can be
imported through it, and under bwrap nothing else is bound. `handlers` names a module of those
folders whose HANDLERS (kind -> function(server, request) -> reply) replace or add to the part
server's for this assignment's parts; a handler reaches the engine through the server it is given
(keep, resolve, describe, error_info, run_stored_cell; part_server.py), never by importing it.
Runs inside the sandbox: the standard library only.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import types
from collections.abc import Callable
from typing import Any

PACKAGE = "_assignment"


def parse(text: str) -> tuple[dict[str, str], str | None]:
    """(folders by subpackage name, handler module) from the runner's SIDE argument ("{}": none)."""
    side = json.loads(text)
    folders = side.get("folders") or {}
    handlers = side.get("handlers")
    if not (isinstance(folders, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in folders.items())):
        raise ValueError("SIDE: folders must map names to paths")
    if handlers is not None and not isinstance(handlers, str):
        raise ValueError("SIDE: handlers must be a module name")
    return folders, handlers


def load(folders: dict[str, str], handlers: str | None) -> dict[str, Callable[..., Any]]:
    """Make the package and import the handler module; its HANDLERS ({} without one)."""
    if not folders:
        return {}
    root = types.ModuleType(PACKAGE, "An assignment's student-side folders (sandbox/inside/assignment.py).")
    root.__path__ = []  # no folder of its own: only the subpackages below
    root.__package__ = PACKAGE
    sys.modules[PACKAGE] = root
    for name, path in folders.items():
        if not name.isidentifier():
            raise ValueError(f"SIDE: {name!r} is no package name")
        init = os.path.join(path, "__init__.py")
        if os.path.isfile(init):
            spec = importlib.util.spec_from_file_location(f"{PACKAGE}.{name}", init, submodule_search_locations=[path])
            assert spec is not None
        else:  # a folder without __init__.py: a package of its modules all the same
            spec = importlib.machinery.ModuleSpec(f"{PACKAGE}.{name}", None, is_package=True)
            spec.submodule_search_locations = [path]
        package = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = package
        if spec.loader is not None:
            spec.loader.exec_module(package)
        setattr(root, name, package)
    if handlers is None:
        return {}
    table = getattr(importlib.import_module(f"{PACKAGE}.{handlers}"), "HANDLERS", {})
    if not (isinstance(table, dict) and all(isinstance(k, str) and callable(v) for k, v in table.items())):
        raise TypeError(f"{handlers}.HANDLERS must map request kinds to functions")
    return dict(table)
