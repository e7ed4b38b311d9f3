"""`nbgrader collect` (the kit's SafeCollect) takes each inbound folder on its own: a folder that
cannot be collected is skipped with its reason and every other student is collected and graded;
a folder owned by someone other than the student it names (a shared exchange, ids that are local
users) never counts as that student's submission; nothing half-copied reaches submitted/; a
student's HTML/SVG/XML files never reach submitted/ (the formgrader serves it from the Jupyter
origin).

Real CLI, real files: a sparse 2 GB file made with `truncate`, a FIFO, a dangling link, folders
owned by other uids (daemon and bin are local users here, their ids student ids; nobody forges),
and a file the instructor cannot read (collect run without CAP_DAC_OVERRIDE through setpriv, as
an instructor account that is not root). Then the batch grades what was collected.
"""

from __future__ import annotations

import csv
import os
import pwd
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.course.assignment import ROOT
from autograder.course.spreadsheet import starts_formula
from autograder.routes.nbgrader_hooks.exchange.collect import SKIPPED_CSV
from tests.course import NB, RUBRIC, A, batch, comments, env, make_course, scores
from tests.submissions import RELEASE, SOLUTION

pytestmark = pytest.mark.slow

NOTES_FILE = "nb74_intake_notes.txt"
STAMP, LATER, LATEST = (f"2024-06-0{d} 10:00:00.000000 UTC" for d in (1, 2, 3))
GOOD = ["a1", "m5", "z9", "dangling", "fifo", "pages"]  # collected, full marks
STOOD_IN = {  # not collected, nothing to replace: the release with this reason in the notes
    "@big": "大きすぎる",
    "-many": "多すぎる",
    "notadir": "フォルダではない",
    "unread": "「zz-private.txt」をコピーできなかった",
}
PAGES = ["notes.html", "pic.svg", "data.xml", "deep/x.xhtml", "deep/y.HTM"]
OWNED = "daemon"  # a local user: its folders are checked
KEPT = "bin"  # a local user whose later, too large submission does not replace the earlier one


def inbound(exchange: Path, name: str, stamp: str = STAMP, tail: str = "0123abcd", notebook: Path = SOLUTION) -> Path:
    folder = exchange / "dl-nb74" / "inbound" / f"{name}+{A}+{stamp}+{tail}"
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text(stamp, encoding="utf-8")
    shutil.copyfile(notebook, folder / NB)
    return folder


def chown_tree(path: Path, uid: int) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, uid, uid)


def collect(course: Path, exchange: Path, *extra: str, prefix: tuple[str, ...] = ()) -> tuple[str, float, float]:
    """The real `nbgrader collect` (optionally behind a command such as setpriv): its log, wall
    seconds and the peak RSS (MiB) of the biggest child so far."""
    cmd = [
        *prefix,
        sys.executable,
        "-m",
        "nbgrader",
        "collect",
        A,
        *extra,
        f"--Exchange.root={exchange}",
        f"--CourseDirectory.root={course}",
        f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
    ]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t0
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    return log, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


class Run:
    course: Path
    logs: list[str]
    graded: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    r = Run()
    tmp = tmp_path_factory.mktemp("collect")
    r.course = course = make_course(tmp / "course")
    ex = tmp / "exchange"
    made = {name: inbound(ex, name) for name in GOOD}
    os.symlink(tmp / "gone", made["dangling"] / "notes.txt")  # nbgrader's get_size raised on it
    os.mkfifo(made["fifo"] / "pipe")  # copying it would block
    pages = made["pages"]
    (pages / "deep").mkdir()
    for name in PAGES:
        (pages / name).write_text("<script>fetch('/api/contents/source')</script>", encoding="utf-8")
    (pages / "deep" / "keep.txt").write_text("plain text stays", encoding="utf-8")
    subprocess.run(["truncate", "-s", "2G", str(inbound(ex, "@big") / "data.bin")], check=True)
    many = inbound(ex, "-many")
    for i in range(1001):
        (many / f"f{i}").touch()
    (ex / "dl-nb74" / "inbound" / f"notadir+{A}+{STAMP}+x").write_text("a file, not a folder", encoding="utf-8")
    inbound(ex, "badtime", stamp="来週の月曜")  # nbgrader's collect stopped for everyone on it
    chown_tree(inbound(ex, OWNED), pwd.getpwnam(OWNED).pw_uid)  # the student's own
    chown_tree(inbound(ex, OWNED, LATER, "x", RELEASE), 65534)  # someone else's, newer, under that name
    chown_tree(inbound(ex, KEPT), pwd.getpwnam(KEPT).pw_uid)
    r.logs = [collect(course, ex)[0]]
    # second run: the forger tries again, newer still; the student of KEPT sends a folder too large
    chown_tree(inbound(ex, OWNED, LATEST, "y", RELEASE), 65534)
    later = inbound(ex, KEPT, LATER, notebook=RELEASE)
    subprocess.run(["truncate", "-s", "2G", str(later / "data.bin")], check=True)
    chown_tree(later, pwd.getpwnam(KEPT).pw_uid)
    log, seconds, peak = collect(course, ex, "--update")
    r.logs.append(log)
    print(
        f"\ncollect --update of {len(os.listdir(ex / 'dl-nb74' / 'inbound'))} inbound folders: {seconds:.2f} s, peak RSS {peak:.0f} MiB"
    )
    # third run as an instructor who cannot read everything (no CAP_DAC_OVERRIDE): one file of
    # the folder is someone else's, mode 000; the notebook beside it is copied first or not
    unread = inbound(ex, "unread")
    secret = unread / "zz-private.txt"
    secret.write_text("x", encoding="utf-8")
    os.chown(secret, 65534, 65534)
    secret.chmod(0)
    no_dac = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")
    r.logs.append(collect(course, ex, "--update", prefix=no_dac)[0])
    r.graded = batch(course, "--workers", "2", check=False)
    return r


def test_every_other_student_is_collected_and_graded(run: Run) -> None:
    got = scores(run.course / "gradebook.db")
    for student in [*GOOD, OWNED, KEPT]:
        assert got[student]["_total"] == RUBRIC.max_score, (student, run.graded.stderr[-2000:])
    assert "badtime" not in got and not (run.course / "submitted" / "badtime").exists()


@pytest.mark.parametrize("student", sorted(STOOD_IN))
def test_a_folder_that_cannot_be_collected_is_graded_zero_with_its_reason(run: Run, student: str) -> None:
    folder = run.course / "submitted" / student / A
    assert sorted(p.name for p in folder.iterdir()) == sorted([NB, NOTES_FILE, "timestamp.txt"])
    assert (folder / NB).read_bytes() == (run.course / "release" / A / NB).read_bytes()  # nothing half-copied
    assert STOOD_IN[student] in (folder / NOTES_FILE).read_text(encoding="utf-8")
    assert scores(run.course / "gradebook.db")[student]["_total"] == 0.0
    assert STOOD_IN[student] in comments(run.course / "gradebook.db")[student]


def test_the_reason_names_the_numbers(run: Run) -> None:
    big = (run.course / "submitted" / "@big" / A / NOTES_FILE).read_text(encoding="utf-8")
    assert re.search(r"（2,147\.\d MB、上限 100\.0 MB）", big), big  # 2 GiB and the notebook; nbgrader's 100000 kB
    assert "1,000 個を超えています" in (run.course / "submitted" / "-many" / A / NOTES_FILE).read_text(encoding="utf-8")


def test_no_staging_folder_or_partial_copy_is_left(run: Run) -> None:
    submitted = run.course / "submitted"
    assert not [p for p in submitted.rglob(".collecting-*")]
    unread = submitted / "unread" / A  # copied in part before the failure: none of it stays
    assert not (unread / "zz-private.txt").exists()
    assert (unread / NB).read_bytes() == (run.course / "release" / A / NB).read_bytes()
    assert "could not copy zz-private.txt: Permission denied" in run.logs[2], run.logs[2]


def test_a_folder_owned_by_someone_else_is_never_the_students(run: Run) -> None:
    folder = run.course / "submitted" / OWNED / A
    assert (folder / NB).read_bytes() == SOLUTION.read_bytes()  # the genuine one, not the forged newer ones
    assert (folder / "timestamp.txt").read_text(encoding="utf-8") == STAMP
    for log in run.logs[:2]:
        assert f"not by the student {OWNED}" in log and "owned by nobody (uid 65534)" in log, log


def test_a_later_folder_that_cannot_be_collected_keeps_the_earlier_submission(run: Run) -> None:
    folder = run.course / "submitted" / KEPT / A
    assert (folder / NB).read_bytes() == SOLUTION.read_bytes()
    assert not (folder / NOTES_FILE).exists()
    assert "earlier submission kept" in run.logs[1]


def test_special_files_links_and_pages_stay_out_with_a_note(run: Run) -> None:
    submitted = run.course / "submitted"
    for student, left_out in {"dangling": ["notes.txt"], "fifo": ["pipe"], "pages": PAGES}.items():
        folder = submitted / student / A
        notes = (folder / NOTES_FILE).read_text(encoding="utf-8")
        for name in left_out:
            assert not os.path.lexists(folder / name), (student, name)
            assert f"「{name}」" in notes, (student, name, notes)
    assert (submitted / "pages" / A / "deep" / "keep.txt").is_file()
    assert "HTML・SVG・XML" in (submitted / "pages" / A / NOTES_FILE).read_text(encoding="utf-8")
    assert not [p for p in submitted.rglob("*") if p.suffix.lower() in (".html", ".htm", ".svg", ".xml", ".xhtml")]


def test_the_instructor_sees_every_skipped_folder(run: Run) -> None:
    with (run.course / SKIPPED_CSV).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    why = {(r["student"], r["inbound_folder"].rsplit("+", 1)[1], r["action"]) for r in rows}
    assert ("badtime", "0123abcd", "not collected") in why
    assert ("daemon", "x", "not collected") in why and ("daemon", "y", "not collected") in why
    assert ("bin", "0123abcd", "earlier submission kept") in why
    for student in STOOD_IN:
        assert any(s in (student, "'" + student) and a == "release graded 0 with the reason" for s, _, a in why), (
            student
        )
    assert not [c for r in rows for c in r.values() if starts_formula(c)]  # "@big" and "-many" are guarded
    assert {"'@big", "'-many"} <= {r["student"] for r in rows}
