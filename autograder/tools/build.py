"""Regenerate everything derived from the source notebook and the rubric.

    python -m autograder build            # writes into the repository
    build_all(out_root=tmp)               # the same into another folder (the sync tests)

Derived files: the points of the source notebook's test cells and its points table (from the
rubric), its given cell of the visible tests' namespace nb74 (the modules of autograder/diagnosis/: the
judge's diagnosis, the feedback's pictures, the checks), release/ (`nbgrader generate_assignment`), solutions/<assignment>/reference.py (the
reference implementation as a module) and the executed solution notebook
(`nbgrader generate_solution`, hidden tests removed).
"""

from __future__ import annotations

import ast
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from ..course.assignment import GIVEN_PREFIX, ROOT, Rubric, load_rubric
from ..intake.read import grade_id
from ..routes.ci.student_data import write_check_data
from ..routes.nbgrader_hooks.glue import nbgrader_env, run_nbgrader

__all__ = ["build_all", "grade_id", "nbgrader_env", "run_nbgrader"]  # the latter three: tests, benchmarks

TABLE_START, TABLE_END = "<!-- rubric:start -->", "<!-- rubric:end -->"
MARKER = re.compile(r"^\s*###\s*(BEGIN|END) SOLUTION\s*$")


def points_table(rubric: Rubric) -> str:
    rows = ["| 採点される箇所 | 節 | 配点 |", "|---|---|---|"]
    rows += [f"| {p.title} | {p.section} | {p.points:g} |" for p in rubric.parts.values()]
    rows.append(f"| **合計** | | **{rubric.max_score:g}** |")
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
            "Hidden tests are pytest graders in autograder/graders/ (README, Authoring)"
        )
    missing = set(by_cell) - {grade_id(c) for c in nb.cells}
    if missing:
        raise ValueError(f"rubric names test cells missing from the source notebook: {sorted(missing)}")


HIDDEN_TESTS = "### BEGIN HIDDEN TESTS"  # nbgrader's marker: not used by the kit (see above)
DIAGNOSIS_CELL = "given_diagnosis"  # before the visible tests' checks (given_checks), which use it
# The namespace `nb74` of the visible tests: the judge's diagnosis, the feedback's pictures and the
# checks, executed from one string so that no name in the notebook can shadow one of theirs.
# Every module of the public folder autograder/diagnosis/, in the order they are executed (each
# after what it uses); nb74_source refuses a module of that folder missing here, or an import of
# the kit from outside it (the line would be dropped and the name undefined in the notebook).
PUBLIC = ROOT / "autograder" / "diagnosis"
NB74_MODULES = (
    "findings.py",
    "diagnosis.py",
    "agreement.py",
    "known_mistakes.py",
    "heatmaps.py",
    "visible_common.py",
    "visible_layers.py",
    "visible.py",
)
TRIPLE = "'" * 3  # the cell holds the modules' code in r'''...'''
NB74_HEADER = "\n".join(
    [
        "# 可視テストのチェック関数（編集不要・自動生成）: 採点と同じ見立て（どの間違いか）と、フィードバックと同じ図のコード",
        "# （講座のキットの autograder/diagnosis/ のモジュール）を、",
        "# ノートブックの変数と名前がぶつからないよう nb74 という名前空間にまとめます。可視テストのセルが",
        "# nb74.check_linear(Linear) のように呼びます。隠しテストの入力は含みません。",
        "import linecache as _linecache, sys as _sys, types as _types",
        "",
    ]
)
NB74_FOOTER = "\n".join(
    [
        "nb74 = _types.ModuleType('nb74', '可視テストのチェック関数（自動生成）')",
        "_sys.modules['nb74'] = nb74",
        "_linecache.cache['<nb74>'] = (len(_NB74_SOURCE), None, _NB74_SOURCE.splitlines(True), '<nb74>')  # エラー表示用",
        "exec(compile(_NB74_SOURCE, '<nb74>', 'exec'), nb74.__dict__)",
        "nb74.install()  # 未実装（NotImplementedError）などを 1 行の日本語で表示する",
        "del _NB74_SOURCE, _linecache, _sys, _types",
        "",
    ]
)


def module_code(path: Path) -> str:
    """A module's code for the nb74 namespace: without its docstring, future import and imports of
    the kit (the namespace defines what they import)."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.split("\n")
    first = tree.body[1].lineno - 1 if ast.get_docstring(tree) else 0
    outside = [ln for ln in lines if ln.startswith(("from autograder", "import autograder"))]
    outside = [ln for ln in outside if not ln.startswith("from autograder.diagnosis")]
    if outside:
        raise ValueError(f"{path.name}: a public module imports the kit outside autograder/diagnosis/: {outside[0]}")
    # an import of the kit may span lines (parenthesised): every line of the statement goes
    dropped = {
        i
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("autograder", "__future__")
        for i in range(node.lineno - 1, node.end_lineno or node.lineno)
    }
    kept = [
        ln
        for i, ln in enumerate(lines)
        if i >= first
        and i not in dropped
        and not ln.startswith("from __future__ import")
        and not ln.startswith("from autograder")
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


def nb74_source(public: Path = PUBLIC) -> str:
    """The modules' code as one module (the future import first: heatmaps' annotations stay strings).
    Two modules defining one name would silently replace one another: refused."""
    folder = {p.name for p in public.glob("*.py")} - {"__init__.py"}
    if folder != set(NB74_MODULES):
        raise ValueError(f"autograder/diagnosis/ holds {sorted(folder)}; the release cell takes {NB74_MODULES}")
    codes = {m: module_code(public / m) for m in NB74_MODULES}
    seen: dict[str, str] = {}
    for m, code in codes.items():
        for name in top_level_names(code):
            if name in seen:
                raise ValueError(f"{name} is defined in both diagnosis/{seen[name]} and diagnosis/{m}")
            seen[name] = m
    source = "from __future__ import annotations\n\n" + "\n\n".join(codes.values())
    if TRIPLE in source or source.endswith("\\"):
        raise ValueError(f"the nb74 modules must not contain {TRIPLE} (the cell holds them in a raw string)")
    return source


def diagnosis_cell_source() -> str:
    return f"{NB74_HEADER}_NB74_SOURCE = r{TRIPLE}{nb74_source()}{TRIPLE}\n{NB74_FOOTER}"


def apply_diagnosis(nb: Any) -> None:
    """The given cell of the nb74 namespace, as generated; inserted before given_checks the first time."""
    cell = next((c for c in nb.cells if grade_id(c) == DIAGNOSIS_CELL), None)
    if cell is None:
        at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "given_checks")
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
    cell.source = diagnosis_cell_source()


def reference_source(nb: Any, rubric: Rubric) -> str:
    """The reference implementation: given cells and completed classes, solution markers dropped."""
    classes = {p.answer_cell for p in rubric.parts.values() if p.kind == "backward"}
    chunks = []
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid == DIAGNOSIS_CELL:  # the cell is generated from these modules: import them, no second copy
            code = "import sys as _sys\n\nfrom autograder.diagnosis import visible as nb74\n\n_sys.modules.setdefault('nb74', nb74)"
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


def build_all(out_root: Path = ROOT, rubric: Rubric | None = None) -> None:
    """Regenerate source points, release/ and solutions/ under out_root."""
    rubric = rubric or load_rubric()
    a, name = rubric.assignment, f"{rubric.notebook}.ipynb"
    src_path = ROOT / "source" / a / name
    nb = nbformat.read(src_path, as_version=4)  # type: ignore[no-untyped-call]
    apply_rubric(nb, rubric)
    apply_diagnosis(nb)
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
        (solutions / "reference.py").write_text(reference_source(nb, rubric), encoding="utf-8")


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


def main() -> None:
    build_all()
    r = load_rubric()
    print(f"built release/{r.assignment}, solutions/{r.assignment} (total {r.max_score:g} points)")
