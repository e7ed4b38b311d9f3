"""Collect the students' repositories of a roster into nbgrader's layout, for the batch.

    ROSTER_TOKEN=... python -m autograder.routes.ci.collect --roster roster.txt [--root .] [--base-url URL]

A roster line is `owner/repository` and optionally a student id (default: the repository's name);
`#` starts a comment. Each repository is cloned bare (no work tree: a symbolic link, a submodule
or a checkout hook of the student's never touches this disk), at depth 1, with a time limit. Only
top-level regular `.ipynb` blobs up to MAX_BYTES are written, as
`submitted/<student>/<assignment>/<name>`; the batch then picks the notebook (another name: graded
with a note). A student with nothing usable gets an empty folder, so the batch records a 0 with
the reason rather than no grade.

The token comes from the environment only (ROSTER_TOKEN) and reaches git through GIT_CONFIG_*
variables (http.<base>.extraHeader), never on a command line, in a URL or in a log.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ...course.assignment import assignment, only_assignment
from ...course.plain_text import markdown_escape
from ...course.spreadsheet import write_csv
from ...intake.submissions import STUDENT_ID

OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
REPO = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
NOTEBOOK_NAME = re.compile(r"[\w][\w .()-]{0,150}\.ipynb")
MAX_BYTES = 50 << 20  # the student's check_submission.py says the same limit
MAX_NOTEBOOKS = 5  # the batch grades one; a few more let it say which and why
CLONE_SECONDS = 120
TOKEN_ENV = "ROSTER_TOKEN"


@dataclass(frozen=True)
class Entry:
    line: int
    repository: str  # owner/name, validated
    student: str


@dataclass
class Outcome:
    student: str
    repository: str
    commit: str = ""
    files: str = ""
    note: str = ""


def parse_roster(text: str) -> tuple[list[Entry], list[str]]:
    """(valid entries, problems). A line is refused whole unless every piece is a plain name."""
    entries: list[Entry] = []
    problems: list[str] = []
    seen: set[str] = set()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        repo = fields[0]
        owner, _, name = repo.partition("/")
        student = fields[1] if len(fields) > 1 else name
        if (
            len(fields) > 2
            or not OWNER.fullmatch(owner)
            or not REPO.fullmatch(name)
            or name in (".", "..")
            or not STUDENT_ID.fullmatch(student)
            or student.startswith((".", "-"))
        ):
            problems.append(f"roster line {n}: refused {line[:80]!r} (expected `owner/repository [student-id]`)")
            continue
        if student in seen:
            problems.append(f"roster line {n}: student {student} appears twice; the first line counts")
            continue
        seen.add(student)
        entries.append(Entry(n, repo, student))
    return entries, problems


def git_env(base_url: str, token: str | None) -> dict[str, str]:
    """git with no user or system config, no prompt, only the base URL's protocol, and the token as
    an HTTP header scoped to the base URL (the way actions/checkout passes it)."""
    scheme = urlsplit(base_url).scheme
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "GIT_ALLOW_PROTOCOL": scheme,
        "GIT_LFS_SKIP_SMUDGE": "1",
        # a redirect could carry the header to another host: none is followed
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.followRedirects",
        "GIT_CONFIG_VALUE_0": "false",
    }
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env |= {
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_1": f"http.{base_url.rstrip('/')}/.extraHeader",
            "GIT_CONFIG_VALUE_1": f"AUTHORIZATION: basic {basic}",
        }
    return env


def scrub(text: str, token: str | None) -> str:
    """Whatever git printed, without the token in any form, bounded."""
    if token:
        text = text.replace(token, "***").replace(base64.b64encode(f"x-access-token:{token}".encode()).decode(), "***")
    return " ".join(text.split())[:300]


def git(args: list[str], env: dict[str, str], token: str | None) -> str:
    done = subprocess.run(["git", *args], env=env, capture_output=True, timeout=CLONE_SECONDS, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(scrub(done.stderr.decode("utf-8", "replace"), token) or f"git exited {done.returncode}")
    return done.stdout.decode("utf-8", "replace")


def tree_entries(bare: Path, env: dict[str, str], token: str | None) -> list[tuple[str, str, str, str, str]]:
    """(mode, type, object, size, path) of the top-level entries of HEAD."""
    out = git(["-C", str(bare), "ls-tree", "-z", "--long", "HEAD"], env, token)
    rows = []
    for item in out.split("\0"):
        if item:
            meta, _, path = item.partition("\t")
            mode, kind, obj, size = meta.split()
            rows.append((mode, kind, obj, size, path))
    return rows


def collect_one(
    entry: Entry, base_url: str, dest: Path, work: Path, token: str | None, max_bytes: int = MAX_BYTES
) -> Outcome:
    outcome = Outcome(entry.student, entry.repository)
    env = git_env(base_url, token)
    bare = work / f"{entry.line}.git"
    url = f"{base_url.rstrip('/')}/{entry.repository}.git"
    dest.mkdir(parents=True, exist_ok=True)  # empty when nothing is usable: the batch grades it 0 with a reason
    try:
        git(
            [
                "clone",
                "--bare",
                "--depth",
                "1",
                "--no-tags",
                "--quiet",
                "--",
                url,
                str(bare),
            ],
            env,
            token,
        )
        outcome.commit = git(["-C", str(bare), "rev-parse", "HEAD"], env, token).strip()
        notes: list[str] = []
        files: list[str] = []
        for mode, kind, obj, size, path in tree_entries(bare, env, token):
            if not path.endswith(".ipynb"):
                continue
            shown = path.encode("unicode_escape").decode()[:80]
            if mode == "120000":
                notes.append(f"{shown}: a symbolic link, not read")
            elif kind != "blob":
                notes.append(f"{shown}: a {kind} (submodule or folder), not read")
            elif not NOTEBOOK_NAME.fullmatch(path):
                notes.append(f"{shown}: file name refused")
            elif len(files) >= MAX_NOTEBOOKS:
                notes.append(f"{shown}: more than {MAX_NOTEBOOKS} notebooks, not read")
            elif not size.isdigit() or int(size) > max_bytes:
                notes.append(f"{shown}: {size} bytes, above the limit of {max_bytes}")
            else:
                data = subprocess.run(
                    ["git", "-C", str(bare), "cat-file", "blob", obj],
                    env=env,
                    capture_output=True,
                    timeout=CLONE_SECONDS,
                ).stdout
                (dest / path).write_bytes(data)
                files.append(path)
        outcome.files = " ".join(files)
        outcome.note = "; ".join(notes) or ("" if files else "no notebook at the top of the repository")
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        outcome.note = f"not collected: {'timed out' if isinstance(e, subprocess.TimeoutExpired) else e}"
    finally:
        shutil.rmtree(bare, ignore_errors=True)
    return outcome


def markdown(outcomes: list[Outcome], problems: list[str]) -> str:
    cell = markdown_escape
    rows = [
        "### Collected repositories",
        "",
        "| student | repository | commit | notebooks | note |",
        "|---|---|---|---|---|",
    ]
    rows += [
        f"| {cell(o.student)} | {cell(o.repository)} | {o.commit[:12]} | {cell(o.files)} | {cell(o.note)} |"
        for o in outcomes
    ]
    rows += [""] + [f"- {cell(p)}" for p in problems]
    return "\n".join(rows) + "\n\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="collect students' repositories into submitted/")
    parser.add_argument("--roster", required=True, type=Path)
    parser.add_argument("--root", default=Path("."), type=Path, help="course root (submitted/ is written here)")
    parser.add_argument("--base-url", default=os.environ.get("ROSTER_BASE_URL", "https://github.com"))
    parser.add_argument("--summary", type=Path, help="append a Markdown table of what was collected")
    parser.add_argument(
        "--assignment", help="the assignment collected (submitted/<s>/<A>/); default: the kit's, if it has only one"
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=int(os.environ.get("COLLECT_MAX_BYTES", MAX_BYTES)),
        help="largest notebook taken",
    )
    args = parser.parse_args(argv)
    if urlsplit(args.base_url).scheme not in ("https", "file"):
        parser.error("--base-url must be https:// (or file:// for tests)")
    token = os.environ.get(TOKEN_ENV) or None
    try:
        entries, problems = parse_roster(args.roster.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        parser.error(f"cannot read the roster {args.roster}: {e} (one `owner/repository [student-id]` per line)")
    name = (assignment(args.assignment) if args.assignment else only_assignment()).name
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="collect-") as work:
        for entry in entries:
            dest = args.root / "submitted" / entry.student / name
            if dest.exists():  # a run starts from nothing: a stale notebook must not be graded
                shutil.rmtree(dest)
            outcomes.append(collect_one(entry, args.base_url, dest, Path(work), token, args.max_bytes))
    write_csv(
        args.root / "collected.csv",
        ["student", "repository", "commit", "notebooks", "note"],
        [[o.student, o.repository, o.commit, o.files, o.note] for o in outcomes],
    )
    for p in problems:
        print(p, file=sys.stderr)
    for o in outcomes:
        print(f"{o.student}\t{o.repository}\t{o.commit[:12] or '-'}\t{o.files or '-'}\t{o.note}")
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(markdown(outcomes, problems))
    return 0 if entries else 1


if __name__ == "__main__":
    sys.exit(main())
