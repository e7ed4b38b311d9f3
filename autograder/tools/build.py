"""Regenerate everything derived from the source notebook and the rubric.

    python -m autograder build [A]        # writes into the repository (every assignment, or A)
    build_all(assignment, out_root=tmp)   # the same into another folder (the sync tests)

Derived files: the points of the source notebook's test cells and its points table (from the
rubric), its given cell of the visible tests' namespace (nb74, ...: the modules of the assignment's
public/, the judge's diagnosis, the feedback's pictures, the checks), release/ (`nbgrader generate_assignment`), solutions/<assignment>/reference.py (the
reference implementation as a module) and the executed solution notebook
(`nbgrader generate_solution`, hidden tests removed).
"""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from ..course.assignment import GIVEN_PREFIX, ROOT, Assignment, Rubric, assignments
from ..intake.read import grade_id
from ..routes.ci.student_data import write_check_data
from ..routes.nbgrader_hooks.glue import nbgrader_env, run_nbgrader
from . import messages as say

__all__ = ["build_all", "grade_id", "nbgrader_env", "run_nbgrader"]  # the latter three: tests, benchmarks

TABLE_START, TABLE_END = "<!-- rubric:start -->", "<!-- rubric:end -->"
MARKER = re.compile(r"^\s*###\s*(BEGIN|END) SOLUTION\s*$")


def points_table(rubric: Rubric) -> str:
    rows = [say.TABLE_HEADER, "|---|---|---|"]
    rows += [f"| {p.title} | {p.section} | {p.points:g} |" for p in rubric.parts.values()]
    rows.append(say.table_total(rubric.max_score))
    return "\n".join(rows)


def apply_rubric(nb: Any, rubric: Rubric) -> None:
    """Write the rubric's points into the test cells and the points table, in place."""
    by_cell = {p.test_cell: p for p in rubric.parts.values()}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        part = by_cell.get(meta.get("grade_id"))
        if part is not None:
            meta["points"] = part.points
        if cell.cell_type == "markdown" and TABLE_START in cell.source:
            head, rest = cell.source.split(TABLE_START, 1)
            _, tail = rest.split(TABLE_END, 1)
            cell.source = f"{head}{TABLE_START}\n{points_table(rubric)}\n{TABLE_END}{tail}"
    hiding = [grade_id(c) or f"cell {i}" for i, c in enumerate(nb.cells) if HIDDEN_TESTS in c.source]
    if hiding:  # one truth: a hidden test in the notebook would never run (nor count)
        raise ValueError(
            f"the source notebook holds {HIDDEN_TESTS} blocks in {hiding}: the judge never runs them. "
            f"Hidden tests are pytest graders in autograder/assignments/{rubric.assignment}/graders/ (README, Authoring)"
        )
    missing = set(by_cell) - {grade_id(c) for c in nb.cells}
    if missing:
        raise ValueError(f"rubric names test cells missing from the source notebook: {sorted(missing)}")


HIDDEN_TESTS = "### BEGIN HIDDEN TESTS"  # nbgrader's marker: not used by the kit (see above)
DIAGNOSIS_CELL = "given_diagnosis"  # before the visible tests' checks (given_checks), which use it
CHECKS_CELL = "given_checks"
# The namespace of the visible tests (nb74, ...): the assignment's public code (the judge's
# diagnosis, the feedback's pictures, the checks), executed from one string so that no name in
# the notebook can shadow one of theirs. The assignment's public/__init__.py declares it: NAMESPACE,
# EXAMPLE_CALL and MODULES, every module of the folder in the order they are executed (each after
# what it uses); public_source refuses a module of that folder missing there, or an import of the
# kit from outside the folder (the line would be dropped and the name undefined in the notebook).
TRIPLE = "'" * 3  # the cell holds the modules' code in r'''...'''


@dataclass(frozen=True)
class Public:
    """An assignment's public folder as the build sees it."""

    folder: Path
    package: str  # autograder.assignments.<a>.public
    namespace: str
    example: str
    modules: tuple[str, ...]

    @property
    def source_name(self) -> str:
        return f"_{self.namespace.upper()}_SOURCE"

    def header(self) -> str:
        shown = self.folder.relative_to(ROOT).as_posix() + "/" if self.folder.is_relative_to(ROOT) else self.folder.name
        return "\n".join(
            [
                *say.namespace_comment(shown, self.namespace, self.example),
                "import linecache as _linecache, sys as _sys, types as _types",
                "",
            ]
        )

    def footer(self) -> str:
        ns, src = self.namespace, self.source_name
        return "\n".join(
            [
                f"{ns} = _types.ModuleType('{ns}', '{say.NAMESPACE_DOC}')",
                f"_sys.modules['{ns}'] = {ns}",
                f"_linecache.cache['<{ns}>'] = (len({src}), None, {src}.splitlines(True), '<{ns}>')  {say.FOR_TRACEBACKS}",
                f"exec(compile({src}, '<{ns}>', 'exec'), {ns}.__dict__)",
                f"{ns}.install()  {say.INSTALL}",
                f"del {src}, _linecache, _sys, _types",
                "",
            ]
        )


def has_namespace(assignment: Assignment) -> bool:
    """Whether the assignment's public/__init__.py declares a namespace cell (NAMESPACE) for the build."""
    if not (assignment.public_dir / "__init__.py").is_file():
        return False
    return hasattr(importlib.import_module(f"{assignment.package}.public"), "NAMESPACE")


def public_of(assignment: Assignment, folder: Path | None = None) -> Public:
    """The assignment's public folder (or a copy of it at `folder`) with its declarations."""
    declared = importlib.import_module(f"{assignment.package}.public")
    return Public(
        folder or assignment.public_dir,
        f"{assignment.package}.public",
        declared.NAMESPACE,
        declared.EXAMPLE_CALL,
        tuple(declared.MODULES),
    )


def module_code(path: Path, package: str) -> str:
    """A module's code for the namespace: without its docstring, future import and imports of its
    own folder (relative, or absolute from `package`: the namespace defines what they import)."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.split("\n")
    first = tree.body[1].lineno - 1 if ast.get_docstring(tree) else 0
    outside = [ln for ln in lines if ln.startswith(("from autograder", "import autograder", "from .."))]
    outside = [ln for ln in outside if not ln.startswith(f"from {package}")]
    if outside:
        raise ValueError(f"{path.name}: a public module imports the kit outside its public folder: {outside[0]}")
    # an import of the kit may span lines (parenthesised): every line of the statement goes
    dropped = {
        i
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        and (node.level > 0 or (node.module or "").split(".")[0] in ("autograder", "__future__"))
        for i in range(node.lineno - 1, node.end_lineno or node.lineno)
    }
    kept = [
        ln
        for i, ln in enumerate(lines)
        if i >= first
        and i not in dropped
        and not ln.startswith("from __future__ import")
        and not ln.startswith(("from autograder", "from ."))
    ]
    return "\n".join(kept).strip("\n") + "\n"


def top_level_names(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def public_source(public: Public) -> str:
    """The modules' code as one module (the future import first: heatmaps' annotations stay strings).
    Two modules defining one name would silently replace one another: refused."""
    folder = {p.name for p in public.folder.glob("*.py")} - {"__init__.py"}
    if folder != set(public.modules):
        raise ValueError(f"{public.folder.name}/ holds {sorted(folder)}; the release cell takes {public.modules}")
    codes = {m: module_code(public.folder / m, public.package) for m in public.modules}
    seen: dict[str, str] = {}
    for m, code in codes.items():
        for name in top_level_names(code):
            if name in seen:
                raise ValueError(f"{name} is defined in both public/{seen[name]} and public/{m}")
            seen[name] = m
    source = "from __future__ import annotations\n\n" + "\n\n".join(codes.values())
    if TRIPLE in source or source.endswith("\\"):
        raise ValueError(
            f"the {public.namespace} modules must not contain {TRIPLE} (the cell holds them in a raw string)"
        )
    return source


def diagnosis_cell_source(assignment: Assignment) -> str:
    public = public_of(assignment)
    return f"{public.header()}{public.source_name} = r{TRIPLE}{public_source(public)}{TRIPLE}\n{public.footer()}"


def apply_diagnosis(nb: Any, assignment: Assignment) -> None:
    """The given cell of the namespace, as generated; inserted before given_checks the first time."""
    cell = next((c for c in nb.cells if grade_id(c) == DIAGNOSIS_CELL), None)
    if cell is None:
        at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == CHECKS_CELL)
        cell = nbformat.v4.new_code_cell()  # type: ignore[no-untyped-call]
        cell.id = "given-diagnosis"
        cell.metadata = {
            "jupyter": {"source_hidden": True},  # long, and not what the student works on
            "nbgrader": {
                "grade": False,
                "grade_id": DIAGNOSIS_CELL,
                "locked": True,
                "schema_version": 3,
                "solution": False,
            },
        }
        nb.cells.insert(at, cell)
    cell.source = diagnosis_cell_source(assignment)


def reference_source(nb: Any, assignment: Assignment) -> str:
    """The reference implementation: given cells and completed classes, solution markers dropped."""
    rubric = assignment.rubric
    classes = {p.answer_cell for p in rubric.parts.values() if p.kind == "backward"}
    chunks = []
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid == DIAGNOSIS_CELL:  # the cell is generated from these modules: import them, no second copy
            public = public_of(assignment)
            face, ns = public.modules[-1].removesuffix(".py"), public.namespace
            code = f"import sys as _sys\n\nfrom {public.package} import {face} as {ns}\n\n_sys.modules.setdefault('{ns}', {ns})"
            chunks.append(f"# --- cell {gid} ---\n{code}\n")
        elif cell.cell_type == "code" and (gid.startswith(GIVEN_PREFIX) or gid in classes):
            code = "\n".join(ln for ln in cell.source.split("\n") if not MARKER.match(ln))
            chunks.append(f"# --- cell {gid} ---\n{code.strip()}\n")
    header = (
        f'"""Reference implementation of {rubric.assignment}.\n\n'
        "Generated from the source notebook by `python -m autograder build`; do not edit.\n"
        '"""\n'
    )
    return header + "\n\n".join(chunks)


def build_all(assignment: Assignment, out_root: Path = ROOT) -> None:
    """Regenerate the assignment's source points, release/ and solutions/ under out_root."""
    rubric = assignment.rubric
    a, name = assignment.name, f"{rubric.notebook}.ipynb"
    src_path = ROOT / "source" / a / name
    nb = nbformat.read(src_path, as_version=4)  # type: ignore[no-untyped-call]
    apply_rubric(nb, rubric)
    if has_namespace(assignment):  # else the assignment writes its given cells itself
        apply_diagnosis(nb, assignment)
    with tempfile.TemporaryDirectory(prefix="nb74-build-") as tmp:
        course = Path(tmp)
        (course / "source" / a).mkdir(parents=True)
        for f in (ROOT / "source" / a).iterdir():  # nbgrader copies non-notebook files (and folders) too
            if f.is_dir() and f.name not in ("__pycache__", ".ipynb_checkpoints"):
                shutil.copytree(f, course / "source" / a / f.name, ignore=shutil.ignore_patterns("__pycache__"))
            elif f.is_file() and f.name != name:
                shutil.copy2(f, course / "source" / a / f.name)
        nbformat.write(nb, course / "source" / a / name)  # type: ignore[no-untyped-call]
        run_nbgrader(["generate_assignment", a, "--force"], course)
        run_nbgrader(["generate_solution", a, "--force"], course, env=SOLUTION_RUN_ENV)

        out_source = out_root / "source" / a / name
        out_source.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(course / "source" / a / name, out_source)
        shutil.rmtree(out_root / "release" / a, ignore_errors=True)
        shutil.copytree(course / "release" / a, out_root / "release" / a)
        write_check_data(out_root / "release" / a, rubric)  # for the student's check_submission.py
        solutions = out_root / "solutions" / a
        solutions.mkdir(parents=True, exist_ok=True)
        write_solution(course / "solutions" / a / name, solutions / name)
        (solutions / "reference.py").write_text(reference_source(nb, assignment), encoding="utf-8")


# The solution's kernel: one thread for every BLAS and OpenMP pool (a threaded sum's order, and so
# its last bits, would depend on the machine's cores) and a fixed hash seed.
SOLUTION_RUN_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
}


def write_solution(made: Path, out: Path) -> None:
    """The executed solution notebook without what varies from run to run or machine to machine:
    the timestamps (metadata.execution), where the kernel happened to flush its output (streams
    coalesced), so the same sources build the same bytes. (The given gradient check prints a
    relative error below 1e-7, the rounding of the central differences whose digits change with the
    BLAS kernel the CPU selects, as "< 1e-07": measured, OPENBLAS_CORETYPE=Sandybridge or Nehalem
    against this AMD EPYC's default kernel changed 12 of its 14 printed errors.)"""
    nb = nbformat.read(made, as_version=4)  # type: ignore[no-untyped-call]
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})  # type: ignore[no-untyped-call]
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, out)  # type: ignore[no-untyped-call]


def main(assignment: Assignment | None = None) -> None:
    """`python -m autograder build [A]`: the assignment named, or every assignment of the kit."""
    for each in [assignment] if assignment is not None else list(assignments()):
        build_all(each)
        r = each.rubric
        print(f"built release/{each.name}, solutions/{each.name} (total {r.max_score:g} points)")
