"""Command line: python -m autograder {build,check,grade,batch,report,gradescope,demo} ..."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from .course.exit_codes import EXIT_GRADED, EXIT_GRADER_ERROR, EXIT_INTERRUPTED, EXIT_PROBLEM, EXIT_USAGE
from .sandbox.levels import REQUESTS, as_request

if TYPE_CHECKING:
    from pathlib import Path

    from .course.assignment import Assignment
    from .results import Results

ONE_SHOT_SPIN = 0.002  # seconds; see autograder.sandbox.inside.protocol.spin_until_readable

EXIT_CODES = """exit codes:
  0    graded, whatever the score (a part that crashed, hung or is missing is graded 0 with why)
  1    a grading problem: grade: the submission could not be graded at all (not a readable
       notebook, a link, the judge failed), its results say why (score 0); batch: any submission
       that could not be graded or not recorded, or whose feedback could not be generated,
       reported after grading all the others; also an assignment missing from the gradebook
  2    usage error (bad arguments; batch: an assignment the judge has no graders for)
  3    a grading error, the kit's failure: a grader raised (not a check of the student's code
       failing), or the graders and rubric.toml disagree. grade writes no results; batch records
       nothing for the submissions concerned and names them (grade them again once fixed);
       check: the kit's authoring is broken (an expectation failed, each named with why)
  130  interrupted (Ctrl-C): grade writes no results; batch keeps what it recorded (run it again)

--junit FILE writes JUnit XML (one testsuite per submission); --summary FILE appends a Markdown
summary (e.g. --summary "$GITHUB_STEP_SUMMARY"). batch reports the whole class: the submissions
graded in this run and the recorded results of those unchanged since (its exit code is this run's)."""


def write_reports(args: argparse.Namespace, junit: dict[str, Results], summary: str) -> None:
    """--junit and --summary, from the typed results (autograder/reports/junit.py, autograder/reports/summary.py)."""
    from pathlib import Path

    if args.junit:
        from .reports.junit import write_junit

        write_junit(junit, Path(args.junit))
    if args.summary:
        from .reports.summary import append_summary

        append_summary(summary, Path(args.summary))


class InterruptLatch:
    """Ctrl-C during a grade, remembered: Python raises KeyboardInterrupt wherever the main thread
    is, and one raised inside a finalizer (weakref.finalize, __del__) is printed and dropped, so
    the grade would go on and write its results. The latch lets the caller see it was pressed."""

    def __init__(self) -> None:
        self.hit = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        self.hit = True
        raise KeyboardInterrupt

    def __enter__(self) -> InterruptLatch:
        import signal

        self._previous = signal.getsignal(signal.SIGINT)
        if self._previous is signal.default_int_handler:  # not where SIGINT is ignored (a background job)
            signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is signal.default_int_handler:
            signal.signal(signal.SIGINT, self._previous)


def main(argv: list[str] | None = None) -> int:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description=__doc__, epilog=EXIT_CODES, formatter_class=fmt
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="regenerate release/ and solutions/ from source/ and the rubric")
    build.add_argument("assignment", nargs="?", help="default: every assignment of the kit (autograder/assignments/)")
    check = sub.add_parser(
        "check",
        help="before grading: the solution full marks, the release 0, each catalog bug caught and diagnosed",
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    check.add_argument("assignment", nargs="?", help="default: the kit's assignment, if it has only one")
    check.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    check.add_argument("--isolation", choices=REQUESTS, default="auto")
    grade = sub.add_parser(
        "grade", help="score one submitted notebook with the hidden graders", epilog=EXIT_CODES, formatter_class=fmt
    )
    grade.add_argument("notebook", help="the submitted .ipynb")
    grade.add_argument(
        "--assignment",
        help="the assignment it is (autograder/assignments/<A>); default: the one whose notebook name the file "
        "has, else the kit's only assignment, else the one whose graded cells (or answers) it holds",
    )
    grade.add_argument("--json", dest="json_path", help="write Gradescope-shaped results here")
    grade.add_argument("--junit", metavar="FILE", help="write JUnit XML here (one testcase per test)")
    grade.add_argument("--summary", metavar="FILE", help="append a Markdown summary here ($GITHUB_STEP_SUMMARY)")
    grade.add_argument(
        "--isolation",
        choices=REQUESTS,
        default="auto",
        help="bwrap: namespaces (required in CI); process: rlimits only",
    )
    grade.add_argument(
        "--no-diagnosis", action="store_true", help="do not name the mistakes (benchmarks/bench_judge.py's baseline)"
    )
    batch = sub.add_parser(
        "batch",
        help="grade every submission of an assignment into the gradebook",
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    batch.add_argument("assignment")
    batch.add_argument("--junit", metavar="FILE", help="write JUnit XML here (one testsuite per student graded)")
    batch.add_argument("--summary", metavar="FILE", help="append a Markdown summary here ($GITHUB_STEP_SUMMARY)")
    batch.add_argument("--root", default=".", help="course root (holds submitted/, release/)")
    batch.add_argument(
        "--db-url",
        help="gradebook URL (default: nbgrader_config.py's CourseDirectory.db_url if --root is its course, "
        "else sqlite:///<root>/gradebook.db)",
    )
    batch.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    batch.add_argument("--dask", metavar="ADDRESS", help="grade on an existing Dask cluster (tcp://host:port)")
    batch.add_argument("--isolation", choices=REQUESTS, default="auto")
    batch.add_argument("--no-feedback", action="store_true", help="skip nbgrader generate_feedback")
    batch.add_argument("--no-progress", action="store_true")
    gradescope = sub.add_parser("gradescope", help="write Gradescope's autograder.zip for one assignment")
    gradescope.add_argument("assignment", nargs="?", help="default: the kit's assignment, if it has only one")
    gradescope.add_argument("--out", default="build/gradescope", help="folder for autograder.zip")
    report = sub.add_parser(
        "report", help="the class report: score distributions, shared mistakes, failing tests, problems (HTML + CSV)"
    )
    report.add_argument("assignment")
    report.add_argument("--root", default=".", help="course root")
    report.add_argument("--db-url", help="gradebook URL (default: as batch)")
    report.add_argument("--out", help="folder for index.html and the CSV files (default: <root>/reports/<assignment>)")
    report.add_argument("--no-progress", action="store_true")
    demo = sub.add_parser(
        "demo", help="scratch course in build/demo: release, example submissions, autograde, gradebook"
    )
    demo.add_argument("assignment", nargs="?", help="default: the kit's assignment, if it has only one")
    args = parser.parse_args(argv)
    if args.command == "check":
        from .tools.check import main as check_main

        return check_main(args.assignment, args.workers, as_request(args.isolation))
    if args.command == "batch":
        from .routes.batch.messages import INTERRUPTED as BATCH_INTERRUPTED

        try:
            return batch_command(args)
        except KeyboardInterrupt:  # each recorded submission is complete (one transaction each)
            print(BATCH_INTERRUPTED, file=sys.stderr)
            return EXIT_INTERRUPTED
    if args.command == "grade":
        import gc
        from pathlib import Path

        # One short-lived process with bounded memory: the cyclic collector would only spend time
        # scanning NumPy's and pytest's objects (reference counting still frees).
        gc.disable()
        from .judge.messages import INTERRUPTED
        from .sandbox.process import StudentProcess
        from .sandbox.side import StudentSide

        chosen = graded_assignment(Path(args.notebook), args.assignment)
        if chosen is None:
            return EXIT_USAGE
        latch = InterruptLatch()
        try:
            # spin: both sides poll briefly for each other's messages (a core each; see protocol.recv)
            side = StudentSide.for_grading(chosen.folder)
            with latch, StudentProcess(isolation=as_request(args.isolation), spin=ONE_SHOT_SPIN, side=side) as proc:
                proc.spawn()  # the student's Python starts while this one imports NumPy and pytest
                from .feedback.terminal import format_report
                from .judge.grade import grade as judge
                from .judge.grade import write_results

                results = judge(Path(args.notebook), chosen, proc=proc, diagnosing=not args.no_diagnosis)
            if latch.hit:  # the KeyboardInterrupt fell in a finalizer, which Python only prints
                raise KeyboardInterrupt
        except KeyboardInterrupt:  # judge.GradeInterrupted too: a partial grade is no grade
            print(INTERRUPTED, file=sys.stderr)
            return EXIT_INTERRUPTED
        if results.grader_errors:  # the kit's failure: no score is written anywhere
            from .judge.messages import NOTHING_WRITTEN, grader_error_report

            print(format_report(results, chosen.rubric))
            print(grader_error_report(results) + "\n" + NOTHING_WRITTEN, file=sys.stderr)
            return EXIT_GRADER_ERROR
        if args.json_path:
            write_results(results, Path(args.json_path))
        if args.junit or args.summary:
            from .reports.summary import grade_summary

            name = Path(args.notebook).name
            write_reports(args, {name: results}, grade_summary(name, results, chosen.rubric))
        print(format_report(results, chosen.rubric))
        if results.refused:
            return EXIT_PROBLEM
    if args.command == "gradescope":
        from pathlib import Path

        from .course.assignment import assignment, only_assignment
        from .routes.gradescope.package import build_zip

        print(build_zip(Path(args.out), assignment(args.assignment) if args.assignment else only_assignment()))
    if args.command == "report":
        from pathlib import Path

        from .course.assignment import judged
        from .reports.page import write_report
        from .routes.batch import messages as batch_say

        if not judged(args.assignment):
            print(batch_say.not_judged(args.assignment), file=sys.stderr)
            return EXIT_USAGE

        root = Path(args.root).resolve()
        out = Path(args.out) if args.out else root / "reports" / args.assignment
        from .routes.nbgrader_hooks.glue import configured_db_url

        db_url = args.db_url or configured_db_url(root)
        print(write_report(db_url, args.assignment, out, progress=not args.no_progress))
    if args.command == "demo":
        from .course.assignment import assignment
        from .tools.demo import main as demo_main

        demo_main(assignment=assignment(args.assignment) if args.assignment else None)
    if args.command == "build":
        from .course.assignment import assignment
        from .tools.build import main as build_main

        build_main(assignment(args.assignment) if args.assignment else None)
    return 0


def graded_assignment(notebook: Path, name: str | None) -> Assignment | None:
    """The assignment `grade` grades: --assignment, else the one the file is (intake/which.py);
    None (a Japanese line on stderr naming --assignment) if that cannot be told."""
    from .course.assignment import UnknownAssignment, assignment, assignments, names
    from .judge import messages as say

    if name:
        try:
            return assignment(name)
        except UnknownAssignment:
            print(say.unknown_assignment(name, names()), file=sys.stderr)
            return None
    from .intake.which import assignment_of

    found = assignment_of(notebook, assignments())
    if len(found) == 1:
        return found[0]
    print(say.which_assignment(notebook.name, [a.name for a in found], names()), file=sys.stderr)
    return None


def batch_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .course.assignment import judged
    from .routes.batch import messages as say
    from .routes.batch.coordinator import run_batch, summary_table
    from .routes.nbgrader_hooks.glue import configured_db_url

    if not judged(args.assignment):
        print(say.not_judged(args.assignment), file=sys.stderr)
        return EXIT_USAGE
    root = Path(args.root).resolve()
    db_url = args.db_url or configured_db_url(root)
    summary = run_batch(
        root,
        args.assignment,
        db_url,
        workers=args.workers,
        dask=args.dask,
        isolation=as_request(args.isolation),
        feedback=not args.no_feedback,
        progress=not args.no_progress,
    )
    print(summary_table(summary))
    graded: dict[str, Results] = summary["results"]
    lost = [s for s in summary["failures"] if s not in graded and s not in summary["grader_errors"]]  # not recorded
    if args.junit or args.summary:
        from .course.assignment import assignment
        from .reports.summary import batch_summary
        from .results import Confinement, Results
        from .routes.nbgrader_hooks.gradebook import JudgeGradebook

        # the whole class: what this run recorded, and the unchanged submissions' recorded results
        with JudgeGradebook(db_url) as book:
            everyone = {**book.judge_results(args.assignment), **graded}
        why = say.NOT_RECORDED_SEE_LOG
        broken: dict[str, Results] = summary["grader_errors"]  # graded, not recorded: the graders' fault
        junit = {
            **everyone,
            **{s: Results.empty(assignment(args.assignment).rubric, why, Confinement.unconfirmed("?")) for s in lost},
            **broken,
        }
        kept = sum(1 for s in everyone if s not in graded)
        rubric = assignment(args.assignment).rubric
        text = batch_summary(dict(sorted(everyone.items())), rubric, kept, lost, grader_errors=broken)
        write_reports(args, dict(sorted(junit.items())), text)
    if summary["grader_errors"]:
        from .judge.messages import grader_error_report

        print(grader_error_report(next(iter(summary["grader_errors"].values()))), file=sys.stderr)
        return EXIT_GRADER_ERROR
    refused = any(r.refused for r in graded.values())
    return EXIT_PROBLEM if refused or lost or summary["feedback_failures"] else EXIT_GRADED


if __name__ == "__main__":
    code = main()
    if sys.argv[1:2] == ["grade"]:
        # Results are written and the student process is gone: skip the interpreter's teardown
        # of NumPy and pytest, a noticeable part of a grade's wall time.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
