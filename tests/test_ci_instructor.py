"""The instructor's grading workflow, step by step, on real git repositories: bare repositories
under a file:// base URL stand in for the students' (the solution, the release, a bug, and hostile
ones: a symbolic link to the hidden source, a submodule, a huge notebook), a roster with hostile
lines, a `git` on PATH that logs every command line. The layout, the grades, the reports, and that
the token appears in no command line, output or file."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from course import copy_kit
from submissions import RELEASE, SOLUTION, answer_source, make_submission

from autograder.course.assignment import ROOT
from autograder.routes.ci.collect import parse_roster
from tests.nb74 import NB74

RUBRIC = NB74.rubric
A, NB = RUBRIC.assignment, f"{RUBRIC.notebook}.ipynb"
TOKEN = "ghs_TESTTOKEN0123456789abcdefSECRET"
COURSE_SECRET = "5e" * 32  # hex, as the repository's NB74_COURSE_SECRET holds it
SECRETS = {"${{ secrets.ROSTER_TOKEN }}": TOKEN, "${{ secrets.NB74_COURSE_SECRET }}": COURSE_SECRET}
WORKFLOW = ROOT / ".github/workflows/grade-class.yml"
MAX_BYTES = 400_000  # COLLECT_MAX_BYTES for the test: the huge notebook is above it, the solution below
HOSTILE_LINES = [
    "../../x",
    "--upload-pack=touch PWNED",
    "org/--upload-pack=touch PWNED",
    "org/x;touch PWNED",
    "org/..",
    "org/nb74-s001 ../evil",
    "org/nb74-s001 s001 extra",
    "org/nb74-s003 s001",  # a second line for s001
    "ext::sh -c touch% PWNED",
]
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "protocol.file.allow=always"]


def sh(args: list[str], cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def bare_repo(hub: Path, name: str, setup) -> None:
    """hub/org/<name>.git: release/ committed, then setup(work tree) committed on top."""
    work = hub / "work" / name
    shutil.copytree(ROOT / "release" / A, work)
    sh([*GIT, "init", "-q", "-b", "main"], work)
    setup(work)
    sh([*GIT, "add", "-A"], work)
    sh([*GIT, "commit", "-qm", "submission"], work)
    sh([*GIT, "clone", "-q", "--bare", str(work), str(hub / "org" / f"{name}.git")], hub)


def put(notebook: Path):
    return lambda work: shutil.copy(notebook, work / NB)


def symlink(work: Path) -> None:
    (work / NB).unlink()
    (work / NB).symlink_to(f"../../../source/{A}/{NB}")  # the hidden source, from submitted/<s>/<a>/


def submodule(work: Path) -> None:
    """The notebook's path is a gitlink (an embedded repository: a submodule entry)."""
    (work / NB).unlink()
    (work / NB).mkdir()
    sh([*GIT, "init", "-q"], work / NB)
    (work / NB / "f").write_text("x")
    sh([*GIT, "add", "f"], work / NB)
    sh([*GIT, "commit", "-qm", "inner"], work / NB)


def many(work: Path) -> None:
    for i in range(8):
        shutil.copy(RELEASE, work / f"a{i}.ipynb")


def huge(work: Path) -> None:
    nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
    nb["cells"][0]["outputs"] = []
    nb["metadata"]["padding"] = "x" * (MAX_BYTES * 2)
    (work / NB).write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("ci")
    hub = tmp / "hub"
    bug = make_submission(tmp / "bug.ipynb", {"mse": answer_source("mse", RELEASE)})
    for name, setup in [
        ("nb74-s001", put(SOLUTION)),
        ("nb74-s002", lambda work: None),
        ("nb74-s003", put(bug)),
        ("nb74-link", symlink),
        ("nb74-sub", submodule),
        ("nb74-huge", huge),
        ("nb74-many", many),
    ]:
        bare_repo(hub, name, setup)
    kit = tmp / "kit"  # the instructor's repository: this kit as committed, without its local state
    copy_kit(kit)
    roster = [
        "org/nb74-s001 s001",
        "org/nb74-s002 s002",
        "org/nb74-s003 s003",
        "org/nb74-link",
        "org/nb74-sub",
        "org/nb74-huge",
        "org/nb74-many",
        "org/missing",
    ]
    (kit / "roster.txt").write_text("# class\n" + "\n".join(roster + HOSTILE_LINES) + "\n", encoding="utf-8")

    wrapper = tmp / "bin" / "git"  # logs argv and whether the header came through the environment
    wrapper.parent.mkdir()
    real_git = shutil.which("git")
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "ARGV $*" "HEADER=${{GIT_CONFIG_VALUE_1:+yes}} REDIRECTS=${{GIT_CONFIG_VALUE_0}}" >> {tmp}/git.log\nexec {real_git} "$@"\n'
    )
    wrapper.chmod(0o755)
    summary = tmp / "step_summary.md"
    env = {
        **os.environ,
        "PATH": f"{wrapper.parent}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "ROSTER_BASE_URL": f"file://{hub}",
        "COLLECT_MAX_BYTES": str(MAX_BYTES),
        "PIP_DRY_RUN": "1",  # setup_runner.sh: this machine's venv is shared; resolve, install nothing
        "GRADING_ISOLATION": "auto",
    }
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["grade"]["steps"]
    runs = {}
    for step in steps:
        if "run" in step:
            step_env = {k: SECRETS.get(str(v), str(v)) for k, v in step.get("env", {}).items()}
            runs[step["name"]] = subprocess.run(
                ["bash", "-e", "-c", step["run"]],
                cwd=kit,
                env={**env, **step_env},
                capture_output=True,
                text=True,
                timeout=900,
            )
    return {"tmp": tmp, "kit": kit, "runs": runs, "summary": summary, "hub": hub}


def run_named(graded: dict, word: str) -> subprocess.CompletedProcess[str]:
    return next(r for name, r in graded["runs"].items() if word in name)


def test_every_step_is_a_script_of_the_kit():
    for wf in (WORKFLOW, ROOT / "release" / A / ".github/workflows/visible-tests.yml"):
        for job in yaml.safe_load(wf.read_text(encoding="utf-8"))["jobs"].values():
            for step in job["steps"]:
                if "run" in step:
                    assert "\n" not in step["run"].strip() and "&&" not in step["run"] and ";" not in step["run"], step


def test_setup_and_collect_succeed(graded):
    setup = run_named(graded, "Runner")
    assert setup.returncode == 0, setup.stdout + setup.stderr
    collect = run_named(graded, "Collect")
    assert collect.returncode == 0, collect.stdout + collect.stderr
    for line in HOSTILE_LINES[:7] + HOSTILE_LINES[8:]:
        assert f"refused {line[:80]!r}" in collect.stderr, line
    assert "student s001 appears twice" in collect.stderr


def test_layout(graded):
    kit = graded["kit"]
    sub = kit / "submitted"
    assert sorted(p.name for p in sub.iterdir()) == sorted(
        ["s001", "s002", "s003", "nb74-link", "nb74-sub", "nb74-huge", "nb74-many", "missing"]
    )
    assert (sub / "s001" / A / NB).read_bytes() == SOLUTION.read_bytes()
    assert (sub / "s002" / A / NB).read_bytes() == RELEASE.read_bytes()
    for student in ("nb74-link", "nb74-sub", "nb74-huge", "missing"):
        assert list((sub / student / A).iterdir()) == [], student
    rows = {r["student"]: r for r in csv.DictReader((kit / "collected.csv").open(encoding="utf-8"))}
    assert "symbolic link" in rows["nb74-link"]["note"]
    assert "commit (submodule" in rows["nb74-sub"]["note"]
    assert f"above the limit of {MAX_BYTES}" in rows["nb74-huge"]["note"]
    assert rows["missing"]["note"].startswith("not collected")
    assert len(list((sub / "nb74-many" / A).iterdir())) == 5 and "more than 5 notebooks" in rows["nb74-many"]["note"]
    assert len(rows["s001"]["commit"]) == 40
    assert not list(graded["tmp"].rglob("PWNED")) and not (kit / "x").exists() and not (graded["tmp"] / "evil").exists()


def test_the_token_reaches_git_only_through_its_environment(graded):
    log = (graded["tmp"] / "git.log").read_text()
    clones = [ln for ln in log.split("\n") if ln.startswith("ARGV clone")]
    assert len(clones) == 8 and all(" -- file://" in ln for ln in clones)  # 7 repositories and the missing one
    assert log.count("HEADER=yes REDIRECTS=false") >= 8  # the header was handed over, redirects refused
    assert TOKEN not in log
    for run in graded["runs"].values():
        assert TOKEN not in run.stdout + run.stderr
    for path in [graded["summary"], *graded["kit"].joinpath("reports").rglob("*"), graded["kit"] / "collected.csv"]:
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_grades_and_reports(graded):
    kit = graded["kit"]
    grade = run_named(graded, "Grade")
    assert grade.returncode in (0, 1), grade.stdout + grade.stderr
    rows = {
        r["student_id"]: float(r["score"])
        for r in csv.DictReader((kit / "reports" / "grades.csv").open(encoding="utf-8"))
    }
    assert rows["s001"] == RUBRIC.max_score
    assert rows["s002"] == 0
    assert 0 < rows["s003"] < RUBRIC.max_score
    for student in ("nb74-link", "nb74-sub", "nb74-huge", "nb74-many", "missing"):
        assert rows[student] == 0, student
    from junitparser import JUnitXml

    suites = list(JUnitXml.fromfile(str(kit / "reports" / "junit.xml")))
    assert len(suites) == 8
    summary = graded["summary"].read_text(encoding="utf-8")
    assert "Collected repositories" in summary and "s003" in summary
    assert (kit / "reports" / "summary.md").read_text(encoding="utf-8") in summary
    report = kit / "reports" / "class-report"  # the class report, for the instructor's artifact
    assert (report / "index.html").is_file()
    problems = {r["学生"] for r in csv.DictReader((report / "problems.csv").open(encoding="utf-8-sig"))}
    assert {"nb74-link", "nb74-huge"} <= problems, problems


def test_roster_parsing_keeps_good_lines():
    entries, problems = parse_roster("org/a\n\n# c\norg/b s2  # comment\norg/c s2\n" + "\n".join(HOSTILE_LINES))
    assert [(e.repository, e.student) for e in entries] == [("org/a", "a"), ("org/b", "s2"), ("org/nb74-s003", "s001")]
    assert len(problems) == 1 + len(HOSTILE_LINES) - 1  # org/c repeats s2; "org/nb74-s003 s001" is valid alone
