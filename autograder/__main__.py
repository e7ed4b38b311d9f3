"""Command line: python -m autograder {build,grade,batch,demo} ..."""

from __future__ import annotations

import argparse
import os
import sys

ONE_SHOT_SPIN = 0.002  # seconds; see autograder.sandbox.protocol.spin_until_readable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="regenerate release/ and solutions/ from source/ and the rubric")
    grade = sub.add_parser("grade", help="score one submitted notebook with the hidden graders")
    grade.add_argument("notebook", help="the submitted .ipynb")
    grade.add_argument("--json", dest="json_path", help="write Gradescope-shaped results here")
    grade.add_argument(
        "--isolation",
        choices=["auto", "bwrap", "process"],
        default="auto",
        help="bwrap: namespaces (required in CI); process: rlimits only",
    )
    grade.add_argument(
        "--no-diagnosis", action="store_true", help="do not name the mistakes (benchmarks/bench_judge.py's baseline)"
    )
    batch = sub.add_parser("batch", help="grade every submission of an assignment into the gradebook")
    batch.add_argument("assignment")
    batch.add_argument("--root", default=".", help="course root (holds submitted/, release/)")
    batch.add_argument("--db-url", help="gradebook URL (default: sqlite:///<root>/gradebook.db)")
    batch.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    batch.add_argument("--dask", metavar="ADDRESS", help="grade on an existing Dask cluster (tcp://host:port)")
    batch.add_argument("--isolation", choices=["auto", "bwrap", "process"], default="auto")
    batch.add_argument("--no-feedback", action="store_true", help="skip nbgrader generate_feedback")
    batch.add_argument("--no-progress", action="store_true")
    gradescope = sub.add_parser("gradescope", help="write Gradescope's autograder.zip (the same judge and rubric)")
    gradescope.add_argument("--out", default="build/gradescope", help="folder for autograder.zip")
    sub.add_parser("demo", help="scratch course in build/demo: release, example submissions, autograde, gradebook")
    args = parser.parse_args(argv)
    if args.command == "batch":
        from pathlib import Path

        from .batch import run_batch, summary_table

        root = Path(args.root).resolve()
        db_url = args.db_url or f"sqlite:///{root / 'gradebook.db'}"
        summary = run_batch(
            root,
            args.assignment,
            db_url,
            workers=args.workers,
            dask=args.dask,
            isolation=args.isolation,
            feedback=not args.no_feedback,
            progress=not args.no_progress,
        )
        print(summary_table(summary))
    if args.command == "grade":
        import gc
        from pathlib import Path

        # One short-lived process with bounded memory: the cyclic collector would only spend time
        # scanning NumPy's and pytest's objects (reference counting still frees).
        gc.disable()
        from .sandbox.process import StudentProcess

        try:
            # spin: both sides poll briefly for each other's messages (a core each; see protocol.recv)
            with StudentProcess(isolation=args.isolation, spin=ONE_SHOT_SPIN) as proc:
                proc.spawn()  # the student's Python starts while this one imports NumPy and pytest
                from .judge import grade as judge
                from .judge import write_results
                from .report import format_report

                results = judge(Path(args.notebook), proc=proc, diagnosing=not args.no_diagnosis).to_dict()
        except KeyboardInterrupt:  # judge.GradeInterrupted too: a partial grade is no grade
            print("採点が中断されました。結果は書き出していません（もう一度採点してください）", file=sys.stderr)
            return 130
        if args.json_path:
            write_results(results, Path(args.json_path))
        print(format_report(results))
    if args.command == "gradescope":
        from pathlib import Path

        from .gradescope.package import build_zip

        print(build_zip(Path(args.out)))
    if args.command == "demo":
        from .demo import main as demo_main

        demo_main()
    if args.command == "build":
        from .build import main as build_main

        build_main()
    return 0


if __name__ == "__main__":
    code = main()
    if sys.argv[1:2] == ["grade"]:
        # Results are written and the student process is gone: skip the interpreter's teardown
        # of NumPy and pytest, a noticeable part of a grade's wall time.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
