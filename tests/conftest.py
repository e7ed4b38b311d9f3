"""Shared fixtures of the kit's test suite: keep this small and generic."""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from tests.gradescope_setup import Gradescope
    from tests.postgres import PostgresServer

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
    from tests.kernels import ipc_kernel_manager

    nb = nbformat.read(path, as_version=4)
    for code in extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(code))
    with tempfile.TemporaryDirectory(prefix="nb74-exec-") as cwd:
        NotebookClient(
            nb,
            km=ipc_kernel_manager(cwd),
            timeout=timeout,
            allow_errors=allow_errors,
            record_timing=True,
            resources={"metadata": {"path": cwd}},
        ).execute(cleanup_kc=True)  # our kernel manager: shut its kernel down and close the channels
    return nb


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The session's one headless Chromium WebDriver (tests/browser.py), fresh profile."""
    from tests.browser import start_chromium

    with start_chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's one PostgreSQL 15 server (tests/postgres.py), on a Unix socket."""
    from tests.postgres import start_postgres

    with start_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """The URL of a fresh database of the session's server, one per test."""
    return postgres.create_database()


@pytest.fixture(scope="session")
def released_course() -> Path:
    """The course as `nbgrader generate_assignment` leaves it, made once per run (tests/course.py):
    read only; `make_course(dest)` gives a writable copy."""
    from tests.course import released_course

    return released_course()


@pytest.fixture(scope="session")
def gradescope_image() -> Gradescope:
    """The kit's Gradescope zip (`python -m autograder gradescope`), unpacked and set up by its
    setup.sh (a real venv of the judge's runtime) as Gradescope builds its image, once per run
    (tests/gradescope_setup.py); each submit() is one grading run in it, with its own submission/
    and results/."""
    from tests import background
    from tests.gradescope_setup import image

    return background.result("gradescope_image", image)


@pytest.fixture(scope="session")
def gradescope_zip(gradescope_image: Gradescope) -> Path:
    """The zip that image was set up from: read only."""
    assert gradescope_image.zip_path is not None
    return gradescope_image.zip_path


@pytest.fixture(scope="session")
def _solution_graded() -> dict:
    from tests.judged import grade_notebook
    from tests.submissions import SOLUTION

    return grade_notebook(SOLUTION)


@pytest.fixture
def solution_results(_solution_graded: dict) -> dict:
    """The judge's results for solutions/' notebook (default isolation), graded once per run; each
    test gets its own copy."""
    return copy.deepcopy(_solution_graded)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session", name="execute_notebook")
def execute_notebook_fixture() -> Callable[..., NotebookNode]:
    return execute_notebook


# -- tiers: expensive tests are marked `slow` automatically, and run after the fast ones ---------
#
# As pytest's own testing/conftest.py does (it marks every test that uses `pytester`, reading the
# test's code names for the ones that spawn): a test is `slow` when it uses an expensive fixture, or
# when its code, its fixtures' code or the functions of tests/ they call (three calls deep) name a
# helper that starts a real process: nbgrader, a Jupyter kernel, Chromium, PostgreSQL, a venv, the
# judge's sandbox, the kit's command line. An explicit `@pytest.mark.slow` / `pytestmark` still
# works. `make test-fast` runs `-m "not slow"`; `pytest --collect-only -q -m slow` lists the rest.

EXPENSIVE_FIXTURES = frozenset(
    {
        "chromium",
        "postgres",
        "postgres_url",
        "released_course",
        "solution_results",
        "gradescope_zip",
        "gradescope_image",
    }
)
PROCESS_NAMES = frozenset(
    {
        "subprocess",  # subprocess.run / Popen / check_output of nbgrader, the kit's CLI, a venv's python
        "Popen",
        "make_course",  # nbgrader generate_assignment (tests/course.py)
        "nbgrader",
        "run_nbgrader",
        "batch",  # python -m autograder batch
        "execute_notebook",  # a Jupyter kernel
        "NotebookClient",
        "grade_notebook",  # the judge: a sandboxed student process per submission
        "grade_submission",
        "one_shot",
        "ForkServer",
        "generate_class",  # the 1,000-student class
        "judge_venv",  # a venv per Python version
        "Chrome",
        "PostgresServer",
        "StudentProcess",  # the sandbox's student process (bubblewrap, seccomp)
        "autograder.tools.demo",  # make demo's flow: release, examples, nbgrader autograde, report
        "benchmark_main",  # benchmarks/false_failures.py over many seeds
        "build_all",  # python -m autograder build: nbgrader generate_assignment and generate_solution
        "background",  # an artefact built by real processes beside the tests (tests/background.py)
    }
)
_DEPTH = 3


# names also common as attributes (`cell.metadata.nbgrader`, `results.batch`): count only as globals
GENERIC_NAMES = frozenset({"nbgrader", "batch"})
_GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "IMPORT_NAME", "IMPORT_FROM", "LOAD_DEREF"})


def _code_names(code: object, seen: set[object]) -> set[str]:
    """The names a code object (and the functions, lambdas, comprehensions nested in it) uses: its
    globals and imports, and its attribute names but the generic ones."""
    import dis

    if code in seen or not hasattr(code, "co_names"):
        return set()
    seen.add(code)
    names = set()
    for ins in dis.get_instructions(code):  # type: ignore[arg-type]
        if not isinstance(ins.argval, str) or "CONST" in ins.opname or "FAST" in ins.opname:
            continue  # a string constant, a local variable
        if ins.opname in _GLOBAL_OPS or ins.argval not in GENERIC_NAMES:
            names.add(ins.argval)
    for const in code.co_consts:  # type: ignore[attr-defined]
        if hasattr(const, "co_names"):
            names |= _code_names(const, seen)
    return names


def _reaches(func: object, depth: int, seen: set[object]) -> set[str]:
    """The names func uses, following calls into the tests' own functions (tests/ only) `depth` deep."""
    func = getattr(func, "__wrapped__", func)
    code = getattr(func, "__code__", None)
    if code is None or code in seen:
        return set()
    names = _code_names(code, seen)
    if depth:
        glob = getattr(func, "__globals__", {})
        for name in list(names):
            target = glob.get(name)
            if callable(target) and str(getattr(getattr(target, "__code__", None), "co_filename", "")).startswith(
                str(ROOT / "tests")
            ):
                names |= _reaches(target, depth - 1, seen)
    return names


def _is_expensive(item: pytest.Item) -> bool:
    if item.get_closest_marker("slow"):
        return True
    fixturenames = set(getattr(item, "fixturenames", ()))
    if fixturenames & EXPENSIVE_FIXTURES:
        return True
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for name in fixturenames:
        for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
            funcs.append(fixturedef.func)
    seen: set[object] = set()
    return any(_reaches(f, _DEPTH, seen) & PROCESS_NAMES for f in funcs if f is not None)


# -- two workers (pytest-xdist, `make test`'s -n): nothing built twice ------------------------------
#
# The run's artefacts are shared by its processes through tests/run_folder.py. What a process makes
# for several tests stays with one process: each group below runs on one worker, and the rest is
# handed out test by test. The groups are made from the fixtures a test uses:
# - the database server, of which the run has one (SHARED_FIXTURES); each worker starts its own
#   browser, and the Gradescope image takes one submit() at a time;
# - a slow test's module (or class) scoped fixture, which each worker would build again: a course
#   graded once for the module's tests;
# and tests that share any of these are one group (union-find). A fixture made once per run through
# tests/run_folder.py (marked run_wide) makes no group: any process reads what the first one made.
# xdist's own `xdist_group` mark cannot carry the groups: it renames the test's nodeid, which
# pytest 9 no longer lets a plugin do. So the workers write the groups into the run's
# folder when they collect, and the controller's scheduler (pytest_xdist_make_scheduler) reads them.
SHARED_FIXTURES = {"postgres": "postgres"}
GROUPS_FILE = "xdist-groups.json"
_RUN_FOLDER = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """The run's first process makes the run's folder; the workers it starts inherit it."""
    from tests import run_folder

    if not hasattr(config, "workerinput"):
        config.stash[_RUN_FOLDER] = run_folder.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    from tests import run_folder

    if _RUN_FOLDER in config.stash:
        run_folder.end(config.stash[_RUN_FOLDER])


def _labels(item: pytest.Item) -> set[str]:
    """What the test shares with others that must run in its process."""
    labels = set()
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        if name in SHARED_FIXTURES:
            labels.add(SHARED_FIXTURES[name])
            continue
        defs = info.name2fixturedefs.get(name, ()) if info else ()
        if not defs or getattr(defs[-1].func, "run_wide", False):
            continue  # none, or made once per run whichever process asks (tests/run_folder.py)
        if defs[-1].scope != "function" and item.get_closest_marker("slow"):
            where = defs[-1].baseid  # "" or a conftest's folder for the suite's own session fixtures
            if where.endswith(".py") or "::" in where:
                labels.add(where.split("::")[0])
    return labels


def xdist_groups(items: list[pytest.Item]) -> dict[str, str]:
    """nodeid -> group, for the tests that have one."""
    parent: dict[str, str] = {}

    def find(label: str) -> str:
        while parent.setdefault(label, label) != label:
            label = parent[label]
        return label

    labelled = [(item, sorted(_labels(item))) for item in items]
    for _, labels in labelled:
        for label in labels[1:]:
            parent[find(label)] = find(labels[0])
    return {item.nodeid: find(labels[0]) for item, labels in labelled if labels}


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: none without it (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The controller's scheduler for --dist loadgroup: xdist's by scope, the scope of a test its
    group (else itself). Any other --dist: xdist's own."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    from tests import run_folder

    class GroupScheduling(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # read once the workers have collected (schedule() is called then)
                self.groups = json.loads((run_folder.root() / GROUPS_FILE).read_text(encoding="utf-8"))
            return self.groups.get(nodeid, nodeid)

    return GroupScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark expensive tests `slow` and run the fast ones first (stable: the file order otherwise);
    then the xdist groups."""
    slow: list[pytest.Item] = []
    fast: list[pytest.Item] = []
    cache: dict[tuple[object, ...], bool] = {}
    for item in items:
        key = (
            getattr(item, "function", item),
            tuple(sorted(getattr(item, "fixturenames", ()))),
            item.get_closest_marker("slow") is not None,
        )
        if key not in cache:
            cache[key] = _is_expensive(item)
        if cache[key]:
            item.add_marker(pytest.mark.slow)
            slow.append(item)
        else:
            fast.append(item)
    items[:] = fast + slow
    if hasattr(config, "workerinput"):  # an xdist worker: the groups, for the controller's scheduler
        from autograder.course.files import write_atomic
        from tests import run_folder

        groups = json.dumps(xdist_groups(items), sort_keys=True)
        write_atomic(run_folder.root() / GROUPS_FILE, groups.encode())


# -- what the slow tests will need, built in the background from the start (tests/background.py) --

# fixture -> "module:function" that builds its artefact; the fixture takes it with background.result
BACKGROUND = {
    "class_of_1000": "tests.generated_class:build",  # tests/test_class_report.py
    "demo_course": "tests.generated_class:demo",  # tests/test_class_report.py
    "gradescope_image": "tests.gradescope_setup:image",
    "judge_venvs": "tests.pythons:judge_venvs",  # tests/test_judge_pythons.py
}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once the run's tests are selected and ordered: when slow ones are among them, start the
    released course (most of them copy it) and then, in the order the tests will ask for them, the
    artefacts of BACKGROUND they use."""
    import importlib

    from tests import background

    items = session.items
    if session.config.option.collectonly or not any(item.get_closest_marker("slow") for item in items):
        return
    worker = getattr(session.config, "workerinput", {}).get("workerid", "gw0")
    if worker != "gw0":  # one worker builds ahead; the others take what it built (tests/run_folder.py)
        return
    from tests.course import released_course

    background.start("released_course", released_course)
    for item in items:
        for name in getattr(item, "fixturenames", ()):
            if name in BACKGROUND:
                module, function = BACKGROUND[name].split(":")
                background.start(name, getattr(importlib.import_module(module), function))


@pytest.hookimpl(trylast=True)  # after the session fixtures' teardown (Chromium, PostgreSQL)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A run that ends before a background build does (-x, an interrupt) does not leave it running."""
    from tests import background

    background.stop()
