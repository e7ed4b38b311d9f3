"""A generated class for the report (tests/test_class_report.py, benchmarks/bench_report.py).

    kinds = grade_kinds(tmp / "kinds")                 # one real submission per kind, graded by the batch
    generate_class(kinds, tmp / "class", n=1000)       # n students, each recorded with one kind's results

Each kind (the solution, the release untouched, a file that is not a notebook, realistic bugs
from tests/bugs/catalog.py, two bugs at once) is graded once by the real batch and judge; the
class then draws a kind per student (fixed weights, fixed seed) and its gradebook records those
results through JudgeGradebook.record, as the batch would have: grading 1,000 notebooks would take
minutes and add nothing the report reads.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
from pathlib import Path

from autograder.results import Results
from autograder.routes.nbgrader_hooks.gradebook import JudgeGradebook
from tests import run_folder
from tests.bugs.catalog import BUGS
from tests.course import A, add_students, batch, copy_course, db_url, make_course, place
from tests.submissions import make_submission

BUG_OF = {e.name: e for e in BUGS}
# kind -> (the bugs it has, its weight in the class)
KINDS: dict[str, tuple[tuple[str, ...], int]] = {
    "correct": ((), 30),
    "untouched": ((), 5),
    "not_json": ((), 2),
    "dw_transposed": (("linear_dW_transposed",), 12),
    "linear_1_over_N": (("linear_extra_1_over_N",), 6),
    "dx_uses_W": (("linear_dx_uses_W",), 5),
    "sigmoid_no_dout": (("sigmoid_no_dout",), 7),
    "sigmoid_uses_x": (("sigmoid_uses_x",), 4),
    "relu_mask_inverted": (("relu_mask_inverted",), 4),
    "tanh_one_minus_y": (("tanh_one_minus_y",), 5),
    "mse_seed_2_over_N": (("mse_seed_2_over_N",), 10),
    "mse_sign": (("mse_sign",), 3),
    "softmax_no_1_over_N": (("softmax_no_1_over_N",), 5),
    "softmax_wrt_p": (("softmax_grad_wrt_p",), 3),
    "dw_transposed_and_mse": (("linear_dW_transposed", "mse_seed_2_over_N"), 4),
}


def grade_kinds(course: Path, released: Path | None = None) -> dict[str, Results]:
    """Every kind submitted once to a fresh course (a copy of `released`, by default the run's
    released course) and graded by the real batch."""
    copy_course(released, course) if released else make_course(course)
    add_students(course, list(KINDS))
    for kind, (bugs, _) in KINDS.items():
        if kind == "not_json":
            place(course, kind, b"{ this is not a notebook")
        elif kind == "untouched":
            place(course, kind, course / "release" / A / "matrix_backprop.ipynb")
        else:
            cells = {BUG_OF[b].cell: BUG_OF[b].source for b in bugs}
            place(course, kind, make_submission(course / f"{kind}.ipynb", cells))
    batch(course, "--workers", "2", "--no-feedback", check=False)  # exit 1: not_json is refused
    with JudgeGradebook(db_url(course)) as book:
        results = book.judge_results(A)
    missing = set(KINDS) - set(results)
    assert not missing, f"kinds not graded: {missing}"
    return results


def class_kinds(n: int, seed: int = 74) -> dict[str, str]:
    """student id -> kind, for n students."""
    rng = random.Random(seed)
    names = list(KINDS)
    drawn = rng.choices(names, weights=[KINDS[k][1] for k in names], k=n)
    return {f"s{i:04d}": kind for i, kind in enumerate(drawn)}


def generate_class(kinds: dict[str, Results], dest: Path, pristine: Path, n: int = 1000) -> dict[str, str]:
    """A course whose gradebook holds n students' scores and results; returns student -> kind."""
    copy_course(pristine, dest)  # the gradebook right after generate_assignment
    students = class_kinds(n)
    with JudgeGradebook(db_url(dest)) as book:
        # test data, not a grading run: no fsync per student's commits (a third of the time)
        book.gb.db.connection().exec_driver_sql("PRAGMA synchronous = OFF")
        for student, kind in students.items():
            sha = hashlib.sha256(f"{student}/{kind}".encode()).hexdigest()
            book.record(A, student, sha, kinds[kind])
    return students


def build(n: int = 1000) -> tuple[Path, dict[str, str]]:
    """The run's generated class (the `generated_class` fixture of tests/test_class_report.py):
    grade_kinds() then generate_class() in the run's folder (tests/run_folder.py), in a process of
    its own (it keeps a core busy for a minute or two: tests/background.py builds it beside other
    tests); returns the class's course and student -> kind."""
    from tests.course import released_course

    def make(base: Path) -> None:
        _run([sys.executable, "-m", "tests.generated_class", str(released_course()), str(base), str(n)], "the class")

    return run_folder.built(f"class-of-{n}", make) / "class", class_kinds(n)


def demo() -> Path:
    """`make demo`'s flow (autograder.tools.demo.main: release, examples, nbgrader autograde,
    report) on a scratch course in the run's folder, in a process of its own: the `demo` fixture of
    tests/test_class_report.py."""
    code = (
        "import sys; from pathlib import Path; from autograder.tools.demo import main; main(course=Path(sys.argv[1]))"
    )

    def make(base: Path) -> None:
        _run([sys.executable, "-c", code, str(base / "demo")], "make demo's flow")

    return run_folder.built("demo-course", make) / "demo"


def _run(cmd: list[str], what: str) -> None:
    from tests.course import ROOT, env

    done = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, f"{what} failed:\n{done.stdout}\n{done.stderr}"


if __name__ == "__main__":  # build()'s process: <released course> <base> <n>
    released, base, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    generate_class(grade_kinds(base / "kinds", released), base / "class", base / "kinds", n=n)
