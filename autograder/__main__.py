"""Command line: python -m autograder {build,grade,batch,demo} ..."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="regenerate release/ and solutions/ from source/ and the rubric")
    grade = sub.add_parser("grade", help="score one submitted notebook with the hidden graders")
    grade.add_argument("notebook", help="the submitted .ipynb")
    grade.add_argument("--json", dest="json_path", help="write Gradescope-shaped results here")
    grade.add_argument("--isolation", choices=["auto", "bwrap", "process"], default="auto",
                       help="bwrap: namespaces (required in CI); process: rlimits only")
    args = parser.parse_args(argv)
    if args.command == "grade":
        from pathlib import Path

        from .judge import grade_notebook, write_results
        from .report import format_report
        results = grade_notebook(Path(args.notebook), isolation=args.isolation)
        if args.json_path:
            write_results(results, Path(args.json_path))
        print(format_report(results))
    if args.command == "build":
        from .build import main as build_main
        build_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
