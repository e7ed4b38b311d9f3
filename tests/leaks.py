"""Find secrets in a release folder: solution code, hidden tests, region markers, grader files.

The secrets are derived from the repository each time (no hard-coded list), so the check keeps
covering whatever is added later: new answer cells, new hidden tests, new graders under
autograder/, new files under solutions/.

"Public" text is what students are meant to see: the source notebooks with solution, hidden-test
and mark-scheme regions removed (a solution cell without markers entirely), the other files of
source/<assignment>/ (nbgrader copies them) and nbgrader's stubs. A fragment counts as secret only
if it is not contained in the public text, so a grader that repeats a given helper line is no leak.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.course.assignment import ROOT

REGION = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)")
STUBS = ("# ここにコードを書いてください\nraise NotImplementedError()", "ここに解答を書いてください")
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
MIN_REGION_FRAGMENT = 8  # characters; lines of a solution or hidden-test region
MIN_FILE_FRAGMENT = 40  # characters; lines of autograder/ and solutions/ files


@dataclass(frozen=True)
class Leak:
    file: str  # path relative to the release folder
    kind: str  # solution | hidden-test | marker | autograder-name | autograder-content | solutions-...
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}: {self.detail}"


def norm(line: str) -> str:
    """A line with whitespace runs collapsed: reindenting or realigning does not hide a leak."""
    return " ".join(line.split())


def files_under(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not SKIP_DIRS & set(p.relative_to(folder).parts) and p.suffix != ".pyc"
    )


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def split_regions(source: str, is_solution_cell: bool) -> tuple[list[str], dict[str, list[str]]]:
    """(public lines, {region kind: secret lines}) of one cell, as nbgrader's generate_assignment
    splits it: region lines are removed; a solution cell without markers is replaced whole."""
    public: list[str] = []
    secret: dict[str, list[str]] = {"solution": [], "hidden-test": []}
    region: str | None = None
    has_solution_region = False
    for line in source.split("\n"):
        m = REGION.search(line)
        if m and m.group(1) == "BEGIN":
            region = "hidden-test" if m.group(2) == "HIDDEN TESTS" else "solution"
            has_solution_region |= m.group(2) == "SOLUTION"
        elif m:
            region = None
        elif region:
            secret[region].append(line)
        else:
            public.append(line)
    if is_solution_cell and not has_solution_region:
        secret["solution"] += public
        public = []
    return public, secret


def text_of(path: Path) -> str:
    """Everything readable in a file: raw text, plus every JSON string decoded (notebooks)."""
    return text_of_bytes(path.read_bytes(), path.suffix)


def text_of_bytes(data: bytes, suffix: str) -> str:
    raw = data.decode("utf-8", errors="replace")
    parts = [raw]
    if suffix in (".ipynb", ".json"):
        try:
            stack = [json.loads(raw)]
        except ValueError:
            stack = []
        while stack:
            obj = stack.pop()
            if isinstance(obj, str):
                parts.append(obj)
            elif isinstance(obj, dict):
                stack += list(obj.values())
            elif isinstance(obj, list):
                stack += obj
    return "\n".join(norm(ln) for p in parts for ln in p.split("\n"))


def readable_lines(path: Path) -> list[str]:
    """Lines of a repository file; a notebook's cell sources (its outputs are not code)."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            return [ln for c in json.loads(raw).get("cells", []) for ln in cell_source(c).split("\n")]
        except ValueError:
            pass
    return raw.split("\n")


@dataclass
class Secrets:
    public: str  # normalized public text, lines joined by "\n"
    fragments: dict[str, tuple[str, str]]  # fragment -> (kind, origin)
    autograder_names: set[str]
    solution_names: set[str]  # names of solutions/ files that have no same-named file in source/
    whole_files: dict[bytes, str]  # exact contents of autograder/ and solutions/ files -> origin


_SECRETS: dict[tuple[object, ...], Secrets] = {}  # fingerprint of the files read -> their secrets


def fingerprint(root: Path = ROOT) -> tuple[object, ...]:
    """(path, size, mtime) of every file collect_secrets reads: a changed or added file changes it."""
    return (
        str(root),
        *(
            (p.as_posix(), st.st_size, st.st_mtime_ns)
            for folder in ("source", "autograder", "solutions")
            for p in files_under(root / folder)
            for st in (p.stat(),)
        ),
    )


def collect_secrets(root: Path = ROOT) -> Secrets:
    """The secrets of the repository at `root`, derived afresh whenever one of its files changed
    (source/, autograder/, solutions/: a grader edited while the suite runs is seen), else reused:
    the suite asks about 300 times and a derivation reads ~100 files."""
    key = fingerprint(root)
    if key not in _SECRETS:
        _SECRETS.clear()
        _SECRETS[key] = derive_secrets(root)
    return _SECRETS[key]


def derive_secrets(root: Path = ROOT) -> Secrets:
    public_lines: list[str] = [ln for s in STUBS for ln in s.split("\n")]
    region_lines: list[tuple[str, str, str]] = []  # (kind, line, origin)
    source_names: set[str] = set()
    for path in files_under(root / "source"):
        source_names.add(path.name)
        rel = path.relative_to(root).as_posix()
        if path.suffix != ".ipynb":
            public_lines += readable_lines(path)
            continue
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            public, secret = split_regions(cell_source(cell), bool(meta.get("solution")))
            public_lines += public
            where = f"{rel} cell {meta.get('grade_id') or cell.get('id', '?')}"
            region_lines += [(kind, ln, where) for kind, lines in secret.items() for ln in lines]
    public = "\n".join(norm(ln) for ln in public_lines)

    fragments: dict[str, tuple[str, str]] = {}

    def add(fragment: str, kind: str, origin: str, min_len: int) -> None:
        if len(fragment) >= min_len and re.search(r"\w", fragment) and fragment not in public:
            fragments.setdefault(fragment, (kind, origin))

    for kind, line, origin in region_lines:
        add(norm(line), kind, origin, MIN_REGION_FRAGMENT)
        add(norm(re.split(r"\s#\s", line)[0]), kind, origin, MIN_REGION_FRAGMENT)  # code without comment

    autograder_names: set[str] = set()
    whole_files: dict[bytes, str] = {}
    for kind, folder in (("autograder-content", root / "autograder"), ("solutions-content", root / "solutions")):
        for path in files_under(folder):
            rel = path.relative_to(root).as_posix()
            if kind == "autograder-content":
                autograder_names.add(path.name)
            if path.stat().st_size:
                whole_files.setdefault(path.read_bytes(), rel)
            for line in readable_lines(path):
                add(norm(line), kind, rel, MIN_FILE_FRAGMENT)
    solution_names = {p.name for p in files_under(root / "solutions")} - source_names
    return Secrets(public, fragments, autograder_names, solution_names, whole_files)


def find_leaks(release_dir: Path, root: Path = ROOT, secrets: Secrets | None = None) -> list[Leak]:
    """Every secret of the repository at `root` (or the given ones) found anywhere under `release_dir`."""
    secrets = secrets or collect_secrets(root)
    leaks: list[Leak] = []
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file()):  # everything, caches too
        rel = path.relative_to(release_dir).as_posix()
        leaks += file_leaks(rel, path.name, path.read_bytes(), secrets)
    return leaks


_FILE_LEAKS: dict[tuple[str, str, bytes, int], list[Leak]] = {}


def file_leaks(rel: str, name: str, data: bytes, secrets: Secrets) -> list[Leak]:
    """The leaks of one file: they depend only on its name, bytes and the secrets, so a file seen
    before (the unchanged rest of a release copy) is not searched again."""
    key = (rel, name, data, id(secrets))
    if key not in _FILE_LEAKS:
        if len(_FILE_LEAKS) > 256:
            _FILE_LEAKS.clear()
        _FILE_LEAKS[key] = search_file(rel, name, data, secrets)
    return list(_FILE_LEAKS[key])


def search_file(rel: str, name: str, data: bytes, secrets: Secrets) -> list[Leak]:
    leaks: list[Leak] = []
    if name in secrets.autograder_names:
        leaks.append(Leak(rel, "autograder-name", f"a file of autograder/ is named {name}"))
    if name in secrets.solution_names:
        leaks.append(Leak(rel, "solutions-name", f"a file of solutions/ is named {name}"))
    if data in secrets.whole_files:
        leaks.append(Leak(rel, "copy", f"identical to {secrets.whole_files[data]}"))
    text = text_of_bytes(data, Path(name).suffix)
    for m in sorted({m.group(0) for m in REGION.finditer(text)}):
        leaks.append(Leak(rel, "marker", m))
    for fragment, (kind, origin) in secrets.fragments.items():
        if fragment in text:
            leaks.append(Leak(rel, kind, f"{fragment!r} (from {origin})"))
    return leaks
