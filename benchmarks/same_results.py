"""Same results before and after a change: grade one set of submissions with two trees' CLIs, compare bytes.

    .venv/bin/python benchmarks/same_results.py [--base REV] [--current DIR] [--jobs 2] [--only SUBSTR]

The submissions: the solution, the release, every bug and every equivalent correct form of
tests/bugs/catalog.py, the tampering cells of tests/test_judge_isolation.py (alone and beside a planted
bug), cells that exit or hang, and notebooks the intake refuses (a symbolic link, invalid JSON, a deleted
or renamed answer cell). Each is graded by `python -m autograder grade NB --json OUT` run in the base tree
(a git worktree of REV, default HEAD) and in the current tree (default: this checkout, uncommitted changes
included), with the same course secret ($NB74_COURSE_SECRET, drawn once per run) so that both draw the same
hidden inputs. The results JSON and the printed report must be byte-identical; the results carry no timing
field today (TIMING_FIELDS lists what would be dropped). RENAMED lists the deliberate renames of a test
(the base's name is mapped before comparing, and said so; where one applied, the printed report, which
orders a part's messages by test name, is compared as a set of lines). Exit status 1 if anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bugs.catalog import BUGS, FORMS  # noqa: E402
from tests.submissions import RELEASE, SOLUTION, answer_source, make_submission  # noqa: E402
from tests.test_judge_isolation import BUGGY_LINEAR, TAMPERING  # noqa: E402

TIMING_FIELDS: frozenset[str] = frozenset()  # none in the results today
# base name -> current name: renames made on purpose (issue 10: one check, one name)
RENAMED = {"Linear.backward :: test_grads_overwritten": "Linear.backward :: test_repeat_backward"}
GRADE_TIMEOUT = 300.0


@dataclass(frozen=True)
class Submission:
    name: str
    write: Callable[[Path], None]  # writes the notebook (or a link) at the given path


def _replacing(cells: dict[str, str]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        make_submission(path, cells)

    return write


def _copy(notebook: Path) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(notebook.read_bytes()) and None


def _text(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8") and None


def _edited_solution(edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Callable[[Path], None]:
    """The solution with its cell list edited by `edit` (cells the intake must notice are gone)."""

    def write(path: Path) -> None:
        nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
        nb["cells"] = edit(nb["cells"])
        path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")

    return write


def _grade_id(cell: dict[str, Any]) -> str:
    return str(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", ""))


def _rename_linear(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for cell in cells:
        if _grade_id(cell) == "linear":
            cell["metadata"]["nbgrader"]["grade_id"] = "linear_renamed"
    return cells


def submissions() -> list[Submission]:
    subs = [
        Submission("solution", _copy(SOLUTION)),
        Submission("release", _copy(RELEASE)),
    ]
    subs += [Submission(f"bug-{e.name}", _replacing({e.cell: e.source})) for e in BUGS]
    subs += [Submission(f"form-{e.name}", _replacing({e.cell: e.source})) for e in FORMS]
    linear, sigmoid = answer_source("linear"), answer_source("sigmoid")
    for name, code in TAMPERING.items():
        slug = "".join(ch if ch.isalnum() else "-" for ch in name)
        subs.append(
            Submission(f"tamper-{slug}", _replacing({"linear": f"{linear}\n{code}", "sigmoid": f"{sigmoid}\n{code}"}))
        )
        subs.append(Submission(f"tamper-{slug}-buggy", _replacing({"linear": f"{BUGGY_LINEAR}\n{code}"})))
    subs += [
        Submission(
            "exit-in-backward", _replacing({"linear": linear.replace("x = self.cache['x']", "import os; os._exit(0)")})
        ),
        Submission("exit-after-class", _replacing({"linear": f"{linear}\nimport os\nos._exit(0)"})),
        Submission("hang-after-class", _replacing({"linear": f"{linear}\nwhile True:\n    pass"})),
        Submission("intake-symlink", lambda p: p.symlink_to(SOLUTION)),
        Submission("intake-invalid-json", _text('{"cells": [')),
        Submission("intake-not-a-notebook", _text('{"hello": "world"}')),
        Submission("intake-renamed-cell", _edited_solution(_rename_linear)),
        Submission(
            "intake-deleted-cell", _edited_solution(lambda cells: [c for c in cells if _grade_id(c) != "sigmoid"])
        ),
    ]
    return subs


def base_worktree(rev: str, scratch: Path) -> Path:
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = scratch / f"base-{sha[:12]}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), sha], capture_output=True, check=True
    )
    return tree


def grade(tree: Path, notebook: Path, out: Path, env: dict[str, str]) -> bytes:
    """The CLI's results JSON and its report, as bytes (a crash of the CLI is compared too)."""
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(notebook), "--json", str(out)],
        cwd=tree,
        env=env,
        capture_output=True,
        timeout=GRADE_TIMEOUT,
    )
    results = out.read_bytes() if out.exists() else b"(no results file)\n"
    return b"exit %d\n--- results\n%s--- report\n%s" % (done.returncode, normalised(results), done.stdout)


def normalised(results: bytes) -> bytes:
    """Timing fields dropped (none today); other bytes kept as the CLI wrote them."""
    if not TIMING_FIELDS:
        return results
    data = json.loads(results)
    for test in data.get("tests", []):
        for field in TIMING_FIELDS:
            test.pop(field, None)
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def renamed(base: bytes) -> bytes:
    """The base's output with the deliberate renames applied (tests re-sorted as the judge sorts)."""
    head, _, rest = base.partition(b"--- results\n")
    results, _, report = rest.partition(b"--- report\n")
    try:
        data = json.loads(results)
    except ValueError:
        return base
    tests = data.get("tests", [])
    for test in tests:
        test["name"] = RENAMED.get(test["name"], test["name"])
    order = {part: i for i, part in enumerate(dict.fromkeys(t["part"] for t in tests))}
    tests.sort(key=lambda t: (order[t["part"]], t["name"]))
    text = (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()
    return head + b"--- results\n" + text + b"--- report\n" + report


def same_after_renames(before: bytes, after: bytes) -> bool:
    """The results JSON equal once the base's renames are applied; the printed report lists a
    part's messages in test-name order, which a rename may change: equal as a set of lines."""
    mapped = renamed(before)
    if mapped == after:
        return True
    head, _, report = mapped.partition(b"--- report\n")
    head_after, _, report_after = after.partition(b"--- report\n")
    renamed_any = any(old.encode() in before for old in RENAMED)
    return renamed_any and head == head_after and sorted(report.splitlines()) == sorted(report_after.splitlines())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="HEAD", help="git revision graded as the base (default HEAD)")
    parser.add_argument("--current", type=Path, default=ROOT, help="tree graded as the current one")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only", default="", help="grade only submissions whose name contains this")
    parser.add_argument("--keep", type=Path, help="write both sides' outputs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same_results_") as scratch_name:
        scratch = Path(scratch_name)
        keep = args.keep or scratch / "outputs"
        base = base_worktree(args.base, scratch)
        try:
            return compare(base, args.current.resolve(), keep, args.jobs, args.only)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)


def part_scores(path: Path) -> dict[str, float]:
    """Each part's score in a results file (the sum of its tests' scores); {} if there is none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    scores: dict[str, float] = {}
    for test in data.get("tests", []):
        scores[test["part"]] = scores.get(test["part"], 0.0) + float(test["score"])
    return scores


def score_changes(before: Path, after: Path) -> list[str]:
    """What moved between two results files, part by part: where bytes differ, is it a grade or a message?"""
    a, b = part_scores(before), part_scores(after)
    return [f"{p} {a.get(p, '-')} -> {b.get(p, '-')}" for p in sorted(a.keys() | b.keys()) if a.get(p) != b.get(p)]


def compare(base: Path, current: Path, keep: Path, jobs: int, only: str) -> int:
    subs = [s for s in submissions() if only in s.name]
    env = {**os.environ, "NB74_COURSE_SECRET": secrets.token_hex(32), "PYTHONDONTWRITEBYTECODE": "1"}
    for side in ("notebooks", "base", "current"):
        (keep / side).mkdir(parents=True, exist_ok=True)
    for s in subs:
        s.write(keep / "notebooks" / f"{s.name}.ipynb")

    def both(s: Submission) -> tuple[Submission, bytes, bytes]:
        nb = keep / "notebooks" / f"{s.name}.ipynb"
        got = [
            grade(tree, nb, keep / side / f"{s.name}.json", env)
            for side, tree in (("base", base), ("current", current))
        ]
        for side, output in zip(("base", "current"), got):
            (keep / side / f"{s.name}.txt").write_bytes(output)
        return s, got[0], got[1]

    differ, renames = [], 0
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        for s, before, after in pool.map(both, subs):
            if before == after:
                continue
            if same_after_renames(before, after):
                renames += 1
                continue
            differ.append(s.name)
            moved = score_changes(keep / "base" / f"{s.name}.json", keep / "current" / f"{s.name}.json")
            scores = "; ".join(moved) if moved else "every part's score equal"
            print(f"DIFFERENT: {s.name}: {scores} (see {keep}/base/{s.name}.txt and {keep}/current/{s.name}.txt)")
    print(f"base {base.name} vs current {current}: {len(subs)} submissions graded on each side")
    print(f"byte-identical: {len(subs) - len(differ) - renames}; identical after the declared renames: {renames}")
    for old, new in RENAMED.items():
        print(f"  declared rename: {old!r} -> {new!r}")
    moved = [n for n in differ if score_changes(keep / "base" / f"{n}.json", keep / "current" / f"{n}.json")]
    print(f"different: {len(differ)}, of which a part's score moved: {len(moved)} {moved}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
