"""The import graph of autograder/, drawn with `ast` from the code (lazy imports inside functions
included): no cycle between folders, no arrow from a lower layer up to a higher one, no module over
MAX_LINES lines.

A folder is the first level under autograder/ (routes/ one level deeper: each route is its own;
an assignment's graders/ and public/ are the folders assignments/graders and assignments/public,
whichever the assignment); the top-level modules results.py and __main__.py are folders of one file.
The engine (every folder but assignments/) imports no assignment: it reaches one through the
Assignment it is given (course/assignment.py). An assignment's public/ imports only itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

from autograder.course.assignment import ROOT

PACKAGE = ROOT / "autograder"
MAX_LINES = 350
# Low to high: a folder may import its own layer's and lower layers' modules, never a higher one's.
LAYERS: list[set[str]] = [
    {"results", "course"},  # the typed grade, the rubric, where things are, the course secret
    {"assignments", "assignments/public"},  # an assignment's public code: copied into the release notebook
    {"intake", "sandbox"},  # how a submission is read; where student code runs
    {"graders", "judge", "assignments/graders"},  # one grade: the engine's and an assignment's graders
    {"feedback"},  # what a student sees
    {"routes", "routes/batch", "routes/nbgrader_hooks", "routes/gradescope", "routes/ci"},
    {"reports"},  # what the instructor or CI reads: the class as the routes left it in the gradebook
    {"tools"},  # build, demo, check
    {"__main__"},  # the CLI
]
LAYER = {folder: i for i, names in enumerate(LAYERS) for folder in names}
# Modules over MAX_LINES (none since issue 24's splits); the test fails when a module grows over the
# limit, or when one listed here gets shorter than it (remove it here).
TOO_LONG_TODAY: set[str] = set()


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a file under a folder whose
    name is no identifier, e.g. a hidden one, cannot be imported: it is none)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "__pycache__" in parts or not all(p.isidentifier() for p in parts):
            continue
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def folder_of(module: str) -> str | None:
    """The folder of a module of the package (None: the package's own __init__)."""
    parts = module.split(".")[1:]
    if not parts:
        return None
    if parts[0] == "routes" and len(parts) > 1:
        return f"routes/{parts[1]}"
    if parts[0] == "assignments" and len(parts) > 2:
        return f"assignments/{parts[2]}"  # autograder.assignments.<a>.graders / .public
    return parts[0]


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of the package that `module` imports, anywhere in its code."""
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            names = [f"{target}.{a.name}" for a in node.names] + [target]
        else:
            continue
        for name in names:
            while name and name not in known:  # `from x import name`: a module or a name in x
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def folder_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for m, targets in graph().items():
        a = folder_of(m)
        for t in targets:
            b = folder_of(t)
            if a and b and a != b:
                edges.setdefault(a, set()).add(b)
    return edges


def test_every_folder_has_a_layer() -> None:
    folders = {folder_of(m) for m in modules()} - {None}
    assert folders <= set(LAYER), folders - set(LAYER)


def test_no_arrow_up() -> None:
    up = [
        f"{m} -> {t}"
        for m, targets in graph().items()
        for t in targets
        if (a := folder_of(m)) and (b := folder_of(t)) and LAYER[a] < LAYER[b]
    ]
    assert not up, "\n".join(up)


def test_no_cycle_between_folders() -> None:
    edges = folder_graph()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt == path[0]:
                cycles.append(" -> ".join([*path, nxt]))
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its smallest folder
                visit(nxt, [*path, nxt])

    for start in sorted(edges):
        visit(start, [start])
    assert not cycles, "\n".join(cycles)


def test_no_module_over_the_line_limit() -> None:
    lengths = {
        p.relative_to(PACKAGE).as_posix(): len(p.read_text(encoding="utf-8").splitlines()) for p in modules().values()
    }
    over = {name for name, n in lengths.items() if n > MAX_LINES}
    assert over <= TOO_LONG_TODAY, {name: lengths[name] for name in over - TOO_LONG_TODAY}
    assert TOO_LONG_TODAY <= over, f"now within {MAX_LINES} lines, remove from TOO_LONG_TODAY: {TOO_LONG_TODAY - over}"


def test_the_engine_imports_no_assignment() -> None:
    """The engine holds nothing of one assignment: no import of autograder.assignments.* outside it."""
    found = [
        f"{m} -> {t}"
        for m, targets in graph().items()
        for t in targets
        if not m.startswith("autograder.assignments") and t.startswith("autograder.assignments")
    ]
    assert not found, "\n".join(found)


def test_an_assignments_public_code_imports_only_itself() -> None:
    """public/ is concatenated into the release notebook: a kit module it imported would be missing there."""
    found = [
        f"{m} -> {t}"
        for m, targets in graph().items()
        if folder_of(m) == "assignments/public"
        for t in targets
        if not t.startswith(m.rsplit(".", 1)[0] if not m.endswith(".public") else m)
    ]
    assert not found, "\n".join(found)


def test_the_graph_is_read_from_the_code() -> None:
    """The reader itself: a relative import, a lazy one and `from package import module` are arrows."""
    g = graph()
    assert "autograder.course.assignment" in g["autograder.judge.grade"]
    assert "autograder.judge.plugin" in g["autograder.judge.grade"]  # imported inside a function
    assert "autograder.sandbox.inside.protocol" in g["autograder.sandbox.launch"]  # from .inside import protocol
